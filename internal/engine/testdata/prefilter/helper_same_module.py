def _is_failure(e):
    return e.deep_get("outcome", "result") == "FAILURE"


def rule(event):
    return event.get("eventType") == "user.authentication.auth_via_mfa" and _is_failure(event)
