from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import source_ip_key


def rule(event):
    return event.get("eventType") == "security.request.blocked"


def title(event):
    source_ip = event.deep_get("client", "ipAddress", default="<unknown-ip>")
    country = event.deep_get("client", "geographicalContext", "country", default="") or "unknown location"
    return f"Okta: repeated requests from blocklisted address {source_ip} ({country})"


def dedup(event):
    return source_ip_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["block_reason"] = event.deep_get("outcome", "reason", default="")
    context["request_uri"] = event.deep_get("debugContext", "debugData", "requestUri", default="")
    context["network_owner"] = event.deep_get("securityContext", "asOrg", default="")
    return context
