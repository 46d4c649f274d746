import re

from panther_okta_helpers import okta_alert_context

# "level=HIGH" inside Okta's text rendering of the risk map, not "previousLevel=...".
LEVEL_PATTERN = re.compile(r"(?<![A-Za-z])level=([A-Za-z]+)")
PREVIOUS_PATTERN = re.compile(r"previousLevel=([A-Za-z]+)")


def _risk_text(event):
    risk = event.deep_get("debugContext", "debugData", "risk", default="")
    return risk if isinstance(risk, str) else ""


def _level(event):
    match = LEVEL_PATTERN.search(_risk_text(event))
    return match.group(1).upper() if match else ""


def _previous_level(event):
    match = PREVIOUS_PATTERN.search(_risk_text(event))
    return match.group(1).upper() if match else ""


def _subject(event):
    for item in event.get("target") or []:
        if item and item.get("type") == "User":
            return item.get("alternateId") or "<unknown-user>"
    return event.deep_get("actor", "alternateId", default="<unknown-user>")


def _is_risky(event):
    if event.get("eventType") == "user.risk.detect":
        return _level(event) in ("MEDIUM", "HIGH")
    # For risk changes only the step up into HIGH is interesting.
    return _level(event) == "HIGH" and _previous_level(event) != "HIGH"


def rule(event):
    return event.get("eventType") in (
        "user.risk.detect",
        "user.risk.change",
    ) and _is_risky(event)


def title(event):
    return f"Okta: {_level(event)} identity risk detected for {_subject(event)}"


def severity(event):
    if _level(event) == "MEDIUM":
        return "MEDIUM"
    return "DEFAULT"


def dedup(event):
    return _subject(event).lower()


def alert_context(event):
    context = okta_alert_context(event)
    context["risk_level"] = _level(event)
    context["previous_risk_level"] = _previous_level(event)
    context["risk_detail"] = _risk_text(event)
    return context
