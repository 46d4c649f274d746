def rule(event):
    proxy = event.deep_get("securityContext", "isProxy")
    return proxy is True or proxy == 1 and event.get("eventType") == "user.session.start"
