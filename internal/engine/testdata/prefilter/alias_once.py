def rule(event):
    etype = event.get("eventType")
    result = event.deep_get("outcome", "result")
    if etype != "user.session.end":
        return False
    return result == "SUCCESS"
