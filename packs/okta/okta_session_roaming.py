from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import username_key


def rule(event):
    return event.get("eventType") == "security.session.detect_client_roaming"


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    source_ip = event.deep_get("client", "ipAddress", default="<unknown-ip>")
    return f"Okta: session of {username} reappeared from a different client at {source_ip}"


def dedup(event):
    session = event.deep_get("authenticationContext", "externalSessionId", default="")
    if session:
        return session
    return username_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["session_id"] = event.deep_get(
        "authenticationContext", "externalSessionId", default=""
    )
    context["new_client_ip"] = event.deep_get("client", "ipAddress", default="")
    context["new_client_country"] = event.deep_get(
        "client", "geographicalContext", "country", default=""
    )
    return context
