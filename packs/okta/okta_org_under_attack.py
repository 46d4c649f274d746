from panther_okta_helpers import okta_alert_context


def rule(event):
    return event.get("eventType") == "security.attack.start"


def title(event):
    reason = event.deep_get("outcome", "reason", default="") or "unspecified attack pattern"
    return f"Okta ThreatInsight declared the org under attack: {reason}"


def dedup(event):
    return "org-under-attack"


def alert_context(event):
    context = okta_alert_context(event)
    context["debug_data"] = event.deep_get("debugContext", "debugData", default={})
    return context
