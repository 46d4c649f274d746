"""Okta helpers for detection content (prowl's implementation)."""

from panther_base_helpers import deep_get, pantherflow_investigation


def okta_alert_context(event):
    """The parts of an Okta System Log event an analyst needs in an alert."""
    return {
        "event_type": event.get("eventtype", ""),
        "severity": event.get("severity", ""),
        "actor": event.get("actor", {}),
        "client": event.get("client", {}),
        "request": event.get("request", {}),
        "outcome": event.get("outcome", {}),
        "target": event.get("target", []),
        "debug_context": event.get("debugcontext", {}),
        "authentication_context": event.get("authenticationcontext", {}),
        "security_context": event.get("securitycontext", {}),
        "ips": event.get("p_any_ip_addresses", []),
        "PantherFlow Investigation": pantherflow_investigation(event),
    }


def okta_actor(event):
    """The actor's login name (alternateId), or '<UNKNOWN_ACTOR>'."""
    return deep_get(event, "actor", "alternateId", default="<UNKNOWN_ACTOR>")
