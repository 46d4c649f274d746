import json

from panther_base_helpers import deep_get
from panther_okta_helpers import okta_alert_context


def _positive_behaviors(event):
    """Names of behaviors Okta evaluated as POSITIVE for this event."""
    positives = []
    raw = event.deep_get("debugContext", "debugData", "behaviors")
    if isinstance(raw, str):
        # Okta renders the map as text: "{New Device=POSITIVE, New IP=NEGATIVE, ...}"
        for pair in raw.strip().strip("{}").split(","):
            name, sep, verdict = pair.partition("=")
            if sep and verdict.strip().upper() == "POSITIVE":
                positives.append(name.strip())
    security_data = event.deep_get("debugContext", "debugData", "logOnlySecurityData")
    if isinstance(security_data, str):
        try:
            security_data = json.loads(security_data)
        except ValueError:
            security_data = None
    behaviors = deep_get(security_data, "behaviors", default={}) if security_data else {}
    if hasattr(behaviors, "items"):
        for name, verdict in behaviors.items():
            if str(verdict).upper() == "POSITIVE" and name not in positives:
                positives.append(name)
    return positives


def rule(event):
    if event.get("eventType") != "user.session.start":
        return False
    if event.deep_get("outcome", "result") != "SUCCESS":
        return False
    positives = _positive_behaviors(event)
    # New-country sign-ins have their own rule; this one covers same-country device changes.
    if "New Country" in positives:
        return False
    return "New Device" in positives and "New IP" in positives


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    device = event.deep_get("client", "userAgent", "os", default="") or "unknown OS"
    source_ip = event.deep_get("client", "ipAddress", default="<unknown-ip>")
    return f"Okta: {username} signed in from an unrecognised {device} device at {source_ip}"


def dedup(event):
    return event.deep_get("actor", "alternateId", default="<unknown-user>").lower()


def alert_context(event):
    context = okta_alert_context(event)
    context["positive_behaviors"] = _positive_behaviors(event)
    context["device_fingerprint"] = event.deep_get(
        "debugContext", "debugData", "deviceFingerprint", default=""
    )
    context["user_agent"] = event.deep_get("client", "userAgent", "rawUserAgent", default="")
    return context
