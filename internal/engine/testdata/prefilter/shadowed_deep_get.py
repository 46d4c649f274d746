def deep_get(*_keys, **_kwargs):
    return "FAILURE"


def rule(event):
    return deep_get(event, "outcome", "result") == "FAILURE" and event.get("eventType") == "user.lifecycle.deactivate"
