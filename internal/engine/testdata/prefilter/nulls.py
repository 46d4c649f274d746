def rule(event):
    if event.get("eventType") != "user.session.start":
        return False
    return event.deep_get("client", "zone") is None and event.get("device") is not None
