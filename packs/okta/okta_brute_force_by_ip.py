from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import failed_from_source_ip, source_ip_key


def rule(event):
    if event.get("eventType") != "user.session.start":
        return False
    # Without a source address there is nothing to group the guesses by.
    return failed_from_source_ip(event)


def title(event):
    source_ip = event.deep_get("client", "ipAddress", default="<unknown-ip>")
    network = event.deep_get("securityContext", "asOrg", default="unknown network")
    return f"Okta: burst of failed sign-ins from {source_ip} ({network})"


def dedup(event):
    return source_ip_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["failure_reason"] = event.deep_get("outcome", "reason", default="")
    context["attempted_username"] = event.deep_get("actor", "alternateId", default="")
    context["threat_suspected"] = event.deep_get(
        "debugContext", "debugData", "threatSuspected", default=""
    )
    return context
