from panther_base_helpers import deep_get


def rule(event):
    return event.get("eventType") == "user.session.start" and deep_get(event, "outcome", "result") == "FAILURE"


def severity(event):
    if deep_get(event, "actor", "alternateId") == "admin":
        return "CRITICAL"
    return "MEDIUM"


def title(event):
    return f"Multiple Failed Logins for {deep_get(event, 'actor', 'alternateId')}"


def dedup(event):
    return deep_get(event, "client", "ipAddress")


def alert_context(event):
    return {
        "actor": deep_get(event, "actor", "alternateId"),
        "ip": deep_get(event, "client", "ipAddress"),
        "reason": deep_get(event, "outcome", "reason"),
    }
