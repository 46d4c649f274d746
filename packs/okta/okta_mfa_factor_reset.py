from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import target_user, target_user_key


def _is_self_service(event):
    target_id = target_user(event).get("id")
    return bool(target_id) and target_id == event.deep_get("actor", "id")


def rule(event):
    return event.get("eventType") in (
        "user.mfa.factor.deactivate",
        "user.mfa.factor.reset_all",
    ) and event.deep_get("outcome", "result") == "SUCCESS"


def title(event):
    actor = event.deep_get("actor", "alternateId", default="<unknown-actor>")
    target = target_user(event).get("alternateId") or "<unknown-user>"
    if event.get("eventType") == "user.mfa.factor.reset_all":
        return f"Okta: {actor} reset every MFA factor of {target}"
    if _is_self_service(event):
        return f"Okta: {actor} removed one of their own MFA factors"
    return f"Okta: {actor} removed an MFA factor from {target}"


def severity(event):
    if event.get("eventType") == "user.mfa.factor.reset_all":
        return "HIGH"
    if _is_self_service(event):
        return "LOW"
    return "DEFAULT"


def dedup(event):
    return target_user_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["target_user"] = target_user(event).get("alternateId") or ""
    context["self_service"] = _is_self_service(event)
    context["outcome_reason"] = event.deep_get("outcome", "reason", default="")
    return context
