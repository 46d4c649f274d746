from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import first_target


def _token(event):
    return first_target(event, "Token")


def rule(event):
    if event.get("eventType") != "system.api_token.create":
        return False
    return event.deep_get("outcome", "result") == "SUCCESS"


def title(event):
    actor = event.deep_get("actor", "alternateId", default="<unknown-actor>")
    token_name = _token(event).get("displayName") or "<unnamed>"
    return f"Okta: {actor} created API token '{token_name}'"


def dedup(event):
    return event.deep_get("actor", "alternateId", default="<unknown-actor>").lower()


def alert_context(event):
    context = okta_alert_context(event)
    context["token_name"] = _token(event).get("displayName") or ""
    context["token_id"] = _token(event).get("id") or ""
    context["creator_ip"] = event.deep_get("client", "ipAddress", default="")
    return context
