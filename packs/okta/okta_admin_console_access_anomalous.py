from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import positive_behaviors, threat_suspected, username_key

# Behaviour names (Okta behavior detection) that make admin console access notable.
NOTABLE_BEHAVIORS = ("New Device", "New IP", "New Geo-Location", "New Country", "Velocity")


def _signals(event):
    signals = [name for name in positive_behaviors(event) if name in NOTABLE_BEHAVIORS]
    if threat_suspected(event):
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
    if threat_suspected(event):
        return "CRITICAL"
    return "DEFAULT"


def dedup(event):
    return username_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["anomaly_signals"] = _signals(event)
    context["source_ip"] = event.deep_get("client", "ipAddress", default="")
    context["source_country"] = event.deep_get(
        "client", "geographicalContext", "country", default=""
    )
    return context
