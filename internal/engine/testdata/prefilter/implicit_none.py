def rule(event):
    if event.get("eventType") == "user.session.end":
        if event.deep_get("outcome", "result") == "SUCCESS":
            return False
    else:
        return False
