from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import username_key


def rule(event):
    if event.get("eventType") != "user.authentication.auth_via_mfa":
        return False
    return event.deep_get("outcome", "result") == "FAILURE"


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    factor = event.deep_get("authenticationContext", "credentialType", default="unknown factor")
    return f"Okta: repeated failed MFA verifications for {username} ({factor})"


def dedup(event):
    return username_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["factor_type"] = event.deep_get("authenticationContext", "credentialType", default="")
    context["factor_provider"] = event.deep_get(
        "authenticationContext", "credentialProvider", default=""
    )
    context["failure_reason"] = event.deep_get("outcome", "reason", default="")
    context["source_ip"] = event.deep_get("client", "ipAddress", default="")
    return context
