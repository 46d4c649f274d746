def rule(event):
    etype = event.get("eventType")
    if etype == "user.session.start":
        return event.deep_get("outcome", "reason") == "INVALID_CREDENTIALS"
    elif etype == "user.session.end":
        return False
    elif etype in ("user.lifecycle.create", "user.lifecycle.deactivate"):
        return event.get("severity") == "INFO"
    else:
        return False
