def rule(event):
    if event.get("eventType") != "user.session.end":
        return False
    assert event.deep_get("outcome", "result") == "SUCCESS"
    return event.get("severity") == "WARN"
