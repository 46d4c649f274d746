def rule(event):
    # outcome null, a string or a list: AttributeError.
    return event.get("outcome", {}).get("result") == "FAILURE" and event.get("eventType") == "user.authentication.auth_via_mfa"
