def rule(event):
    return event.get("EVENTTYPE") == "user.session.start" and event.deep_get("OUTCOME", "Result") == "FAILURE"
