LIFECYCLE = ["user.lifecycle.create", "user.lifecycle.activate"]


def rule(event):
    if event.get("eventType") in LIFECYCLE:
        return True
    return False
