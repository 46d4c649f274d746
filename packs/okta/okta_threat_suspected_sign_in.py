from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import threat_suspected, username_key


def rule(event):
    if event.get("eventType") != "user.session.start":
        return False
    if event.deep_get("outcome", "result") != "SUCCESS":
        return False
    return threat_suspected(event)


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    source_ip = event.deep_get("client", "ipAddress", default="<unknown-ip>")
    return f"Okta: {username} signed in successfully from {source_ip}, an address ThreatInsight distrusts"


def dedup(event):
    return username_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["source_ip"] = event.deep_get("client", "ipAddress", default="")
    context["network_owner"] = event.deep_get("securityContext", "asOrg", default="")
    context["is_proxy"] = event.deep_get("securityContext", "isProxy", default=False)
    context["session_id"] = event.deep_get(
        "authenticationContext", "externalSessionId", default=""
    )
    return context
