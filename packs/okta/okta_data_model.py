"""Data model methods for Okta.SystemLog (unified field names used across log types)."""

# Okta eventTypes mapped to the log-type-independent event names rules can share.
_SESSION_START = "user.session.start"
_STATIC_TYPES = {
    "user.session.end": "successful_logout",
    "user.account.privilege.grant": "admin_role_assigned",
    "group.privilege.grant": "admin_role_assigned",
    "user.mfa.factor.activate": "mfa_enabled",
    "user.mfa.factor.deactivate": "mfa_disabled",
    "user.mfa.factor.reset_all": "mfa_disabled",
    "user.lifecycle.create": "user_account_created",
    "user.lifecycle.delete.initiated": "user_account_deleted",
}


def get_actor_user(event):
    """The acting principal: its login (alternateId), or its display name when Okta has no login."""
    alternate_id = event.deep_get("actor", "alternateId", default="")
    if alternate_id and alternate_id.lower() != "unknown":
        return alternate_id
    return event.deep_get("actor", "displayName", default=None)


def get_event_type(event):
    event_type = event.get("eventType")
    if event_type == _SESSION_START:
        result = event.deep_get("outcome", "result")
        if result == "SUCCESS":
            return "successful_login"
        if result == "FAILURE":
            return "failed_login"
        return None
    return _STATIC_TYPES.get(event_type)


def get_target_user(event):
    """Login of the first User target (the account acted upon), if there is one."""
    for item in event.get("target") or []:
        if item and item.get("type") == "User":
            return item.get("alternateId")
    return None


def get_assigned_admin_role(event):
    if event.get("eventType") not in ("user.account.privilege.grant", "group.privilege.grant"):
        return None
    return event.deep_get("debugContext", "debugData", "privilegeGranted", default=None)
