from panther_okta_helpers import okta_alert_context


def _app(event):
    for item in event.get("target") or []:
        if item and item.get("type") == "AppInstance":
            return item
    return {}


def rule(event):
    return event.get("eventType") == "app.generic.unauth_app_access_attempt"


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    app = _app(event).get("displayName") or "<unknown-app>"
    return f"Okta: {username} keeps trying to open '{app}' without being assigned to it"


def dedup(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>").lower()
    return f"{username}:{_app(event).get('id') or 'unknown-app'}"


def alert_context(event):
    context = okta_alert_context(event)
    context["app_name"] = _app(event).get("displayName") or ""
    context["app_id"] = _app(event).get("id") or ""
    context["source_ip"] = event.deep_get("client", "ipAddress", default="")
    return context
