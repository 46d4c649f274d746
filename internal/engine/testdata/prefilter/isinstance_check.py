def rule(event):
    return isinstance(event.get("target"), str) or isinstance(event.deep_get("securityContext", "isProxy"), bool) and event.get("eventType") == "group.user_membership.add"
