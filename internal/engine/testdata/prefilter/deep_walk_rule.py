def rule(event):
    return event.deep_walk("target", "type", return_val="first") == "AppInstance" and event.get("eventType") == "user.authentication.sso" and event.get("severity") == "WARN"
