from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import username_key


def rule(event):
    return event.get("eventType") == "user.mfa.attempt_bypass"


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    source_ip = event.deep_get("client", "ipAddress", default="<unknown-ip>")
    return f"Okta: attempt to skip the MFA step for {username} from {source_ip}"


def severity(event):
    # A bypass attempt that Okta recorded as successful needs immediate attention.
    if event.deep_get("outcome", "result") == "SUCCESS":
        return "CRITICAL"
    return "DEFAULT"


def dedup(event):
    return username_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["outcome_result"] = event.deep_get("outcome", "result", default="")
    context["session_id"] = event.deep_get(
        "authenticationContext", "externalSessionId", default=""
    )
    return context
