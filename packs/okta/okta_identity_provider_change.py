from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import first_target

VERBS = {
    "system.idp.lifecycle.create": "created",
    "system.idp.lifecycle.update": "modified",
    "system.idp.lifecycle.activate": "activated",
    "system.idp.lifecycle.deactivate": "deactivated",
    "system.idp.lifecycle.delete": "deleted",
}


def _idp(event):
    return first_target(event, "IdentityProvider")


def rule(event):
    return event.get("eventType") in (
        "system.idp.lifecycle.create",
        "system.idp.lifecycle.update",
        "system.idp.lifecycle.activate",
        "system.idp.lifecycle.deactivate",
        "system.idp.lifecycle.delete",
    ) and event.deep_get("outcome", "result") == "SUCCESS"


def title(event):
    actor = event.deep_get("actor", "alternateId", default="<unknown-actor>")
    name = _idp(event).get("displayName") or "<unknown-idp>"
    verb = VERBS.get(event.get("eventType"), "changed")
    return f"Okta: {actor} {verb} identity provider '{name}'"


def severity(event):
    # A new or newly enabled inbound IdP can mint sessions for any routed user.
    if event.get("eventType") in ("system.idp.lifecycle.create", "system.idp.lifecycle.activate"):
        return "HIGH"
    if event.get("eventType") in ("system.idp.lifecycle.deactivate", "system.idp.lifecycle.delete"):
        return "LOW"
    return "DEFAULT"


def dedup(event):
    return _idp(event).get("id") or "<unknown-idp>"


def alert_context(event):
    context = okta_alert_context(event)
    context["idp_name"] = _idp(event).get("displayName") or ""
    context["idp_id"] = _idp(event).get("id") or ""
    return context
