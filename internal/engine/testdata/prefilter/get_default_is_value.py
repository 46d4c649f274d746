def rule(event):
    return event.get("eventType") == "user.lifecycle.create" and event.get("noSuchField", "x") == "x"
