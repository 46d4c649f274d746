from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import first_target, privilege_granted


def _target_group(event):
    return first_target(event, "UserGroup")


def rule(event):
    if event.get("eventType") != "group.privilege.grant":
        return False
    return event.deep_get("outcome", "result") == "SUCCESS"


def title(event):
    actor = event.deep_get("actor", "alternateId", default="<unknown-actor>")
    group = _target_group(event).get("displayName") or "<unknown-group>"
    privilege = privilege_granted(event) or "an admin role"
    return f"Okta: {actor} gave every member of group '{group}' admin privileges [{privilege}]"


def severity(event):
    if "super" in privilege_granted(event).lower():
        return "CRITICAL"
    return "DEFAULT"


def dedup(event):
    return _target_group(event).get("id") or "<unknown-group>"


def alert_context(event):
    context = okta_alert_context(event)
    context["privilege_granted"] = privilege_granted(event)
    context["group_name"] = _target_group(event).get("displayName") or ""
    context["group_id"] = _target_group(event).get("id") or ""
    return context
