def rule(event):
    return event.udm("event_type") == "admin_role_assigned"
