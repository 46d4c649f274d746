from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import username_key

# Outcome reasons that mean a wrong password (OIE and Classic wording).
WRONG_SECRET_REASONS = ("INVALID_CREDENTIALS", "VERIFICATION_ERROR")


def rule(event):
    if event.get("eventType") != "user.session.start":
        return False
    if event.deep_get("outcome", "result") != "FAILURE":
        return False
    if event.deep_get("outcome", "reason", default="") not in WRONG_SECRET_REASONS:
        return False
    username = event.deep_get("actor", "alternateId", default="")
    return bool(username) and username.lower() != "unknown"


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    return f"Okta: repeated wrong-password sign-ins against {username}"


def dedup(event):
    return username_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["failure_reason"] = event.deep_get("outcome", "reason", default="")
    context["source_ip"] = event.deep_get("client", "ipAddress", default="")
    context["source_country"] = event.deep_get(
        "client", "geographicalContext", "country", default=""
    )
    return context
