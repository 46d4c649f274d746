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
    return "New Country" in _positive_behaviors(event)


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    country = event.deep_get("client", "geographicalContext", "country", default="") or "an unknown country"
    return f"Okta: {username} signed in from a country never seen for them before ({country})"


def severity(event):
    # New country plus an unseen device looks more like someone else holding the credentials.
    if "New Device" in _positive_behaviors(event):
        return "HIGH"
    return "DEFAULT"


def dedup(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>").lower()
    country = event.deep_get("client", "geographicalContext", "country", default="") or "unknown"
    return f"{username}:{country}"


def alert_context(event):
    context = okta_alert_context(event)
    context["positive_behaviors"] = _positive_behaviors(event)
    context["country"] = event.deep_get("client", "geographicalContext", "country", default="")
    context["city"] = event.deep_get("client", "geographicalContext", "city", default="")
    context["network_owner"] = event.deep_get("securityContext", "asOrg", default="")
    return context
