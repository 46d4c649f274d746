from panther_base_helpers import deep_get
from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import first_target

VERBS = {
    "policy.lifecycle.create": "created",
    "policy.lifecycle.update": "modified",
    "policy.lifecycle.activate": "activated",
    "policy.lifecycle.deactivate": "deactivated",
    "policy.lifecycle.delete": "deleted",
}


def _policy(event):
    return first_target(event, "PolicyEntity")


def _policy_type(event):
    return deep_get(_policy(event), "detailEntry", "policyType", default="") or "unknown-type"


def rule(event):
    return event.get("eventType") in (
        "policy.lifecycle.create",
        "policy.lifecycle.update",
        "policy.lifecycle.activate",
        "policy.lifecycle.deactivate",
        "policy.lifecycle.delete",
    ) and event.deep_get("outcome", "result") == "SUCCESS"


def title(event):
    actor = event.deep_get("actor", "alternateId", default="<unknown-actor>")
    name = _policy(event).get("displayName") or "<unknown-policy>"
    verb = VERBS.get(event.get("eventType"), "changed")
    return f"Okta: {actor} {verb} {_policy_type(event)} policy '{name}'"


def severity(event):
    # Switching a policy off or removing it drops protections for everyone it covered.
    if event.get("eventType") in ("policy.lifecycle.deactivate", "policy.lifecycle.delete"):
        return "HIGH"
    if event.get("eventType") in ("policy.lifecycle.create", "policy.lifecycle.activate"):
        return "LOW"
    return "DEFAULT"


def dedup(event):
    return _policy(event).get("id") or "<unknown-policy>"


def alert_context(event):
    context = okta_alert_context(event)
    context["policy_name"] = _policy(event).get("displayName") or ""
    context["policy_id"] = _policy(event).get("id") or ""
    context["policy_type"] = _policy_type(event)
    return context
