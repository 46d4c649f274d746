def rule(event):
    user = event.deep_get("actor", "alternateId", default="")
    return bool(user) and user.lower() == "unknown" and event.get("eventType") == "user.session.start"
