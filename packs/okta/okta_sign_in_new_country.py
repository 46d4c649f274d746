from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import positive_behaviors, username_key


def rule(event):
    if event.get("eventType") != "user.session.start":
        return False
    if event.deep_get("outcome", "result") != "SUCCESS":
        return False
    return "New Country" in positive_behaviors(event)


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    country = event.deep_get("client", "geographicalContext", "country", default="") or "an unknown country"
    return f"Okta: {username} signed in from a country never seen for them before ({country})"


def severity(event):
    # New country plus an unseen device looks more like someone else holding the credentials.
    if "New Device" in positive_behaviors(event):
        return "HIGH"
    return "DEFAULT"


def dedup(event):
    username = username_key(event)
    country = event.deep_get("client", "geographicalContext", "country", default="") or "unknown"
    return f"{username}:{country}"


def alert_context(event):
    context = okta_alert_context(event)
    context["positive_behaviors"] = positive_behaviors(event)
    context["country"] = event.deep_get("client", "geographicalContext", "country", default="")
    context["city"] = event.deep_get("client", "geographicalContext", "city", default="")
    context["network_owner"] = event.deep_get("securityContext", "asOrg", default="")
    return context
