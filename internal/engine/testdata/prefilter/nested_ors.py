def rule(event):
    etype = event.get("eventType")
    return (etype == "user.session.start" or etype == "user.session.end") and (
        event.deep_get("outcome", "result") == "FAILURE"
        or (event.get("severity") == "WARN" and not event.deep_get("client", "ipAddress"))
    )
