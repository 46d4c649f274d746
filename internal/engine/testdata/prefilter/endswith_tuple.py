def rule(event):
    return event.deep_get("actor", "alternateId", default="").endswith(("@example.org", "admin@example.com"))
