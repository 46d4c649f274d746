def rule(event):
    check = lambda e: e.get("eventType") == "system.org.rate_limit.warning"  # noqa: E731
    return check(event)
