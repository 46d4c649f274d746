def rule(event, wanted="user.account.update_password"):
    return event.get("eventType") == wanted
