from panther_okta_helpers import okta_alert_context


def _target_user(event):
    for item in event.get("target") or []:
        if item and item.get("type") == "User":
            return item
    return {}


def _privilege(event):
    return event.deep_get("debugContext", "debugData", "privilegeGranted", default="") or ""


def rule(event):
    if event.get("eventType") != "user.account.privilege.grant":
        return False
    return event.deep_get("outcome", "result") == "SUCCESS"


def title(event):
    actor = event.deep_get("actor", "alternateId", default="<unknown-actor>")
    target = _target_user(event).get("alternateId") or "<unknown-user>"
    privilege = _privilege(event) or "an admin role"
    return f"Okta: {actor} gave {target} admin privileges [{privilege}]"


def severity(event):
    # Super administrator is full control of the tenant.
    if "super" in _privilege(event).lower():
        return "CRITICAL"
    return "DEFAULT"


def dedup(event):
    target = _target_user(event).get("alternateId") or "<unknown-user>"
    return target.lower()


def alert_context(event):
    context = okta_alert_context(event)
    context["privilege_granted"] = _privilege(event)
    context["grantee"] = _target_user(event).get("alternateId") or ""
    return context
