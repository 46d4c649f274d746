def rule(event):
    return bool(event.get("eventType") == "user.session.end" and event.deep_get("client", "ipAddress"))
