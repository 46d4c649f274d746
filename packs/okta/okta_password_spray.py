from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import failed_from_source_ip, source_ip_key


def rule(event):
    if event.get("eventType") != "user.session.start":
        return False
    if not failed_from_source_ip(event):
        return False
    # A spray is counted in distinct usernames, so the attempt needs one.
    username = event.deep_get("actor", "alternateId", default="")
    return bool(username) and username.lower() != "unknown"


def unique(event):
    # Threshold counts distinct attempted usernames per source address.
    return event.deep_get("actor", "alternateId", default="").lower()


def title(event):
    source_ip = event.deep_get("client", "ipAddress", default="<unknown-ip>")
    return f"Okta: possible password spray - {source_ip} failed sign-ins for many different accounts"


def dedup(event):
    return source_ip_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["attempted_username"] = event.deep_get("actor", "alternateId", default="")
    context["failure_reason"] = event.deep_get("outcome", "reason", default="")
    context["network_owner"] = event.deep_get("securityContext", "asOrg", default="")
    context["is_proxy"] = event.deep_get("securityContext", "isProxy", default=False)
    return context
