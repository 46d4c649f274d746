def rule(event):
    return event.get("eventType") in {"user.session.end", "user.session.start"} and event.deep_get("outcome", "result") != "SUCCESS"
