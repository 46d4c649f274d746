def rule(event):
    if event.get("eventType") != "user.session.end":
        return False
    # Missing (or null) reason defaults to the compared value: those events match.
    return event.deep_get("outcome", "reason", default="NONE") == "NONE"
