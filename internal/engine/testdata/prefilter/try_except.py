def rule(event):
    try:
        return event["eventType"] == "user.lifecycle.create"
    except KeyError:
        return True
