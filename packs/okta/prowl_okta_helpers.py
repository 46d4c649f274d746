"""Helpers shared by the Prowl Okta pack rules."""

import json

from panther_base_helpers import deep_get


def positive_behaviors(event):
    """Names of behaviors Okta evaluated as POSITIVE for this event."""
    positives = []
    raw = event.deep_get("debugContext", "debugData", "behaviors")
    # Okta renders the map as text: "{New Device=POSITIVE, New IP=NEGATIVE, ...}".
    # Most sign-ins have no POSITIVE verdict at all: no need to split the text then.
    if isinstance(raw, str) and "POSITIVE" in raw.upper():
        for pair in raw.strip().strip("{}").split(","):
            name, sep, verdict = pair.partition("=")
            if sep and verdict.strip().upper() == "POSITIVE":
                positives.append(name.strip())
    security_data = event.deep_get("debugContext", "debugData", "logOnlySecurityData")
    if isinstance(security_data, str):
        try:
            security_data = json.loads(security_data)
        except ValueError:
            security_data = None
    behaviors = deep_get(security_data, "behaviors", default={}) if security_data else {}
    if hasattr(behaviors, "items"):
        for name, verdict in behaviors.items():
            if str(verdict).upper() == "POSITIVE" and name not in positives:
                positives.append(name)
    return positives


def threat_suspected(event):
    """Whether ThreatInsight suspects the source of this event."""
    flag = event.deep_get("debugContext", "debugData", "threatSuspected", default="")
    # Okta writes the flag as the string "true"; some pipelines convert it to a boolean.
    return str(flag).lower() == "true"


def failed_from_source_ip(event):
    """A FAILURE outcome that carries a client IP to group the attempts by."""
    if event.deep_get("outcome", "result") != "FAILURE":
        return False
    return bool(event.deep_get("client", "ipAddress"))


def first_target(event, target_type):
    """The first target of the given type (User, UserGroup, Token, ...), or {}."""
    for item in event.get("target") or []:
        if item and item.get("type") == target_type:
            return item
    return {}


def target_user(event):
    """The first User target, or {}."""
    return first_target(event, "User")


def target_user_key(event):
    """Dedup key: the target user's login, lower-cased."""
    return (target_user(event).get("alternateId") or "<unknown-user>").lower()


def privilege_granted(event):
    """The admin role named by a privilege grant, or ''."""
    return event.deep_get("debugContext", "debugData", "privilegeGranted", default="") or ""


def username_key(event):
    """Dedup key: the actor's login, lower-cased."""
    return event.deep_get("actor", "alternateId", default="<unknown-user>").lower()


def source_ip_key(event):
    """Dedup key: the client IP address."""
    return event.deep_get("client", "ipAddress", default="<unknown-ip>")
