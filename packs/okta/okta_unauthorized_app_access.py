from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import first_target, username_key


def _app(event):
    return first_target(event, "AppInstance")


def rule(event):
    return event.get("eventType") == "app.generic.unauth_app_access_attempt"


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    app = _app(event).get("displayName") or "<unknown-app>"
    return f"Okta: {username} keeps trying to open '{app}' without being assigned to it"


def dedup(event):
    username = username_key(event)
    return f"{username}:{_app(event).get('id') or 'unknown-app'}"


def alert_context(event):
    context = okta_alert_context(event)
    context["app_name"] = _app(event).get("displayName") or ""
    context["app_id"] = _app(event).get("id") or ""
    context["source_ip"] = event.deep_get("client", "ipAddress", default="")
    return context
