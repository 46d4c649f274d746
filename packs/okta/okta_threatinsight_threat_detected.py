from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import source_ip_key


def rule(event):
    return event.get("eventType") == "security.threat.detected"


def title(event):
    source_ip = event.deep_get("client", "ipAddress", default="<unknown-ip>")
    reason = event.deep_get("outcome", "reason", default="") or "suspicious activity"
    result = event.deep_get("outcome", "result", default="UNKNOWN")
    return f"Okta ThreatInsight flagged {source_ip}: {reason} (action: {result})"


def severity(event):
    result = event.deep_get("outcome", "result")
    # Okta let the request through: an analyst has to decide what happened next.
    if result == "ALLOW":
        return "HIGH"
    # Terminated or throttled by Okta before reaching a user.
    if result in ("DENY", "RATE_LIMIT"):
        return "LOW"
    return "DEFAULT"


def dedup(event):
    return source_ip_key(event)


def alert_context(event):
    context = okta_alert_context(event)
    context["threat_detections"] = event.deep_get(
        "debugContext", "debugData", "threatDetections", default=""
    )
    context["transaction_id"] = event.deep_get("transaction", "id", default="")
    return context
