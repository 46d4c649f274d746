from panther_base_helpers import deep_get
from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import first_target

VERBS = {
    "policy.rule.add": "added",
    "policy.rule.update": "modified",
    "policy.rule.activate": "activated",
    "policy.rule.deactivate": "deactivated",
    "policy.rule.delete": "deleted",
}


def rule(event):
    return event.get("eventType") in (
        "policy.rule.add",
        "policy.rule.update",
        "policy.rule.activate",
        "policy.rule.deactivate",
        "policy.rule.delete",
    ) and event.deep_get("outcome", "result") == "SUCCESS"


def title(event):
    actor = event.deep_get("actor", "alternateId", default="<unknown-actor>")
    rule_name = first_target(event, "PolicyRule").get("displayName") or "<unknown-rule>"
    policy_name = first_target(event, "PolicyEntity").get("displayName") or "<unknown-policy>"
    verb = VERBS.get(event.get("eventType"), "changed")
    return f"Okta: {actor} {verb} rule '{rule_name}' of policy '{policy_name}'"


def severity(event):
    if event.get("eventType") in ("policy.rule.deactivate", "policy.rule.delete"):
        return "HIGH"
    if event.get("eventType") == "policy.rule.activate":
        return "LOW"
    return "DEFAULT"


def dedup(event):
    return first_target(event, "PolicyRule").get("id") or "<unknown-rule>"


def alert_context(event):
    context = okta_alert_context(event)
    policy = first_target(event, "PolicyEntity")
    context["policy_name"] = policy.get("displayName") or ""
    context["policy_type"] = deep_get(policy, "detailEntry", "policyType", default="") or ""
    context["policy_rule_name"] = first_target(event, "PolicyRule").get("displayName") or ""
    return context
