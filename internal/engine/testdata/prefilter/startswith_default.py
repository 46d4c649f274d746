def rule(event):
    # A null eventType raises AttributeError (a rule error); a missing one is "".
    return event.get("eventType", "").startswith("user.mfa.") and event.deep_get("outcome", "result") != "SUCCESS"
