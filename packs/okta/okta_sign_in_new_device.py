from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import positive_behaviors, username_key


def rule(event):
    if event.get("eventType") != "user.session.start":
        return False
    if event.deep_get("outcome", "result") != "SUCCESS":
        return False
    positives = positive_behaviors(event)
    # New-country sign-ins have their own rule; this one covers same-country device changes.
    if "New Country" in positives:
        return False
    return "New Device" in positives and "New IP" in positives


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    device = event.deep_get("client", "userAgent", "os", default="") or "unknown OS"
    source_ip = event.deep_get("client", "ipAddress", default="<unknown-ip>")
    return f"Okta: {username} signed in from an unrecognised {device} device at {source_ip}"


def dedup(event):
    return username_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["positive_behaviors"] = positive_behaviors(event)
    context["device_fingerprint"] = event.deep_get(
        "debugContext", "debugData", "deviceFingerprint", default=""
    )
    context["user_agent"] = event.deep_get("client", "userAgent", "rawUserAgent", default="")
    return context
