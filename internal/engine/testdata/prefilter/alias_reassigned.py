def rule(event):
    value = event.get("eventType")
    value = event.get("severity")
    return value == "WARN" and event.get("eventType") == "user.session.start"
