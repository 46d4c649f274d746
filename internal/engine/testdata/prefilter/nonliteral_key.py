FIELD = "eventType"
KEYS = ("outcome", "result")


def rule(event):
    return event.get(FIELD) == "user.session.start" and event.deep_get(*KEYS) == "FAILURE"
