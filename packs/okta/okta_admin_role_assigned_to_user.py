from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import privilege_granted, target_user, target_user_key


def rule(event):
    if event.get("eventType") != "user.account.privilege.grant":
        return False
    return event.deep_get("outcome", "result") == "SUCCESS"


def title(event):
    actor = event.deep_get("actor", "alternateId", default="<unknown-actor>")
    target = target_user(event).get("alternateId") or "<unknown-user>"
    privilege = privilege_granted(event) or "an admin role"
    return f"Okta: {actor} gave {target} admin privileges [{privilege}]"


def severity(event):
    # Super administrator is full control of the tenant.
    if "super" in privilege_granted(event).lower():
        return "CRITICAL"
    return "DEFAULT"


def dedup(event):
    return target_user_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["privilege_granted"] = privilege_granted(event)
    context["grantee"] = target_user(event).get("alternateId") or ""
    return context
