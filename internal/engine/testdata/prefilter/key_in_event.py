def rule(event):
    return "target" in event and event.get("eventType") == "user.account.reset_password"
