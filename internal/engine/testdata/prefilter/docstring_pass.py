def rule(event):
    """Matches deactivations."""
    pass
    return event.get("eventType") == "user.lifecycle.deactivate"
