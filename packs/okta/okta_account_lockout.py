from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import username_key


def rule(event):
    return event.get("eventType") in ("user.account.lock", "user.account.lock.limit")


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    source_ip = event.deep_get("client", "ipAddress", default="<unknown-ip>")
    if event.get("eventType") == "user.account.lock.limit":
        return (
            f"Okta: {username} hit the lockout limit and needs an admin unlock "
            f"(last attempt from {source_ip})"
        )
    return f"Okta: {username} was locked out after failed sign-ins from {source_ip}"


def severity(event):
    # The limit variant means the account no longer unlocks itself.
    if event.get("eventType") == "user.account.lock.limit":
        return "MEDIUM"
    return "DEFAULT"


def dedup(event):
    return username_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["lock_reason"] = event.deep_get("outcome", "reason", default="")
    context["source_ip"] = event.deep_get("client", "ipAddress", default="")
    return context
