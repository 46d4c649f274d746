def rule(event):
    behaviors = event.deep_get("debugContext", "debugData", "behaviors", default="")
    return "New Device=POSITIVE" in behaviors and event.get("eventType") == "user.session.start"
