def rule(event):
    return (event.get("eventType") == "user.session.end") if event.get("severity") == "WARN" else False
