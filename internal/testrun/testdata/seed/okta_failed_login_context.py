from panther_base_helpers import deep_get

def rule(event):
    return event.get("eventType") == 'user.session.start' and deep_get(event, 'outcome', 'result') == "FAILURE"

def severity(event):
    if deep_get(event, 'actor', 'alternateID') == "admin":
        return "CRITICAL"
    if deep_get(event, 'actor', 'alternateID') == "test":
        return "INFO"
    return "MEDIUM"

def title(event):
  return f"Multiple Failed Logins for {deep_get(event, 'actor', 'alternateID')}"

def dedup(event):
  return deep_get(event, 'client', 'ipAddress')
