import json

from panther_base_helpers import deep_get
from panther_okta_helpers import okta_alert_context

# Behaviour names (Okta behavior detection) that make admin console access notable.
NOTABLE_BEHAVIORS = ("New Device", "New IP", "New Geo-Location", "New Country", "Velocity")


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


def _threat_suspected(event):
    flag = event.deep_get("debugContext", "debugData", "threatSuspected", default="")
    return str(flag).lower() == "true"


def _signals(event):
    signals = [name for name in _positive_behaviors(event) if name in NOTABLE_BEHAVIORS]
    if _threat_suspected(event):
        signals.append("ThreatInsight suspected")
    return signals


def rule(event):
    if event.get("eventType") != "user.session.access_admin_app":
        return False
    return bool(_signals(event))


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    signals = ", ".join(_signals(event))
    return f"Okta: {username} opened the Admin Console under unfamiliar conditions [{signals}]"


def severity(event):
    if _threat_suspected(event):
        return "CRITICAL"
    return "DEFAULT"


def dedup(event):
    return event.deep_get("actor", "alternateId", default="<unknown-user>").lower()


def alert_context(event):
    context = okta_alert_context(event)
    context["anomaly_signals"] = _signals(event)
    context["source_ip"] = event.deep_get("client", "ipAddress", default="")
    context["source_country"] = event.deep_get(
        "client", "geographicalContext", "country", default=""
    )
    return context
