def rule(event):
    return event["eventType"] == "user.account.update_password" and event["outcome"]["result"] == "SUCCESS"
