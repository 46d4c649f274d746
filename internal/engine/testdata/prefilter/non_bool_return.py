def rule(event):
    # Returns the login (a string) on logouts: a rule error, not a match.
    return event.get("eventType") == "user.session.end" and event.get("severity") == "WARN" and event.deep_get("actor", "alternateId")
