def rule(event):
    if event.get("eventType") != "user.session.start":
        return False
    # JSON false is the False singleton; anything else is a rule error.
    return event.deep_get("securityContext", "isProxy")
