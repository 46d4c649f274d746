from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import username_key


def rule(event):
    return event.get("eventType") == "user.mfa.okta_verify.deny_push"


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    return f"Okta: {username} is rejecting repeated Okta Verify pushes (possible MFA fatigue)"


def dedup(event):
    return username_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["push_responder_ip"] = event.deep_get("client", "ipAddress", default="")
    context["push_responder_device"] = event.deep_get("client", "device", default="")
    context["denial_reason"] = event.deep_get("outcome", "reason", default="")
    return context
