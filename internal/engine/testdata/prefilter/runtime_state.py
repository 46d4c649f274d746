SEEN = []


def rule(event):
    SEEN.append(1)
    return event.get("eventType") == "user.mfa.factor.activate" and len(SEEN) > 0
