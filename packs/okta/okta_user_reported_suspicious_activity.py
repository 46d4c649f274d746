from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import username_key


def _reported(event, key, default=""):
    return event.deep_get("debugContext", "debugData", key, default=default) or default


def rule(event):
    return event.get("eventType") == "user.account.report_suspicious_activity_by_enduser"


def title(event):
    username = event.deep_get("actor", "alternateId", default="<unknown-user>")
    reported = _reported(event, "suspiciousActivityEventType", "an unrecognised event")
    return f"Okta: {username} reported activity they do not recognise ({reported})"


def dedup(event):
    return username_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["reported_event_type"] = _reported(event, "suspiciousActivityEventType")
    context["reported_event_id"] = _reported(event, "suspiciousActivityEventId")
    context["reported_event_ip"] = _reported(event, "suspiciousActivityEventIp")
    context["reported_event_city"] = _reported(event, "suspiciousActivityEventCity")
    context["reported_event_country"] = _reported(event, "suspiciousActivityEventCountry")
    context["reported_event_time"] = _reported(event, "suspiciousActivityTimestamp")
    return context
