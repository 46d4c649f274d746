def rule(event):
    return event.get("eventType") == "USER.LIFECYCLE.CREATE".lower()
