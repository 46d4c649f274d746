def rule(event):
    if (etype := event.get("eventType")) == "user.lifecycle.activate":
        return etype == "user.lifecycle.activate"
    return False
