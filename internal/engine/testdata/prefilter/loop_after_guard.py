def rule(event):
    if event.get("eventType") != "user.session.start":
        return False
    for target in event.get("target") or []:
        if target.get("type") == "AuthenticatorEnrollment" and target.get("displayName") == "Okta Verify":
            return True
    return False
