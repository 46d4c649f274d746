from panther_okta_helpers import okta_alert_context

VERBS = {
    "zone.update": "modified",
    "zone.deactivate": "deactivated",
    "zone.delete": "deleted",
    "zone.remove_blacklist": "removed the blocklist flag from",
    "security.zone.remove_blacklist": "removed the blocklist flag from",
}


def _zone(event):
    targets = [item for item in event.get("target") or [] if item]
    for item in targets:
        if item.get("type") in ("NetworkZone", "Zone"):
            return item
    # Fall back to the first target when the zone carries a different type label.
    return targets[0] if targets else {}


def rule(event):
    return event.get("eventType") in (
        "zone.update",
        "zone.deactivate",
        "zone.delete",
        "zone.remove_blacklist",
        "security.zone.remove_blacklist",
    ) and event.deep_get("outcome", "result") == "SUCCESS"


def title(event):
    actor = event.deep_get("actor", "alternateId", default="<unknown-actor>")
    name = _zone(event).get("displayName") or "<unknown-zone>"
    verb = VERBS.get(event.get("eventType"), "changed")
    return f"Okta: {actor} {verb} network zone '{name}'"


def severity(event):
    # Anything that stops a zone from blocking traffic weakens a perimeter control.
    if event.get("eventType") != "zone.update":
        return "HIGH"
    return "DEFAULT"


def dedup(event):
    return _zone(event).get("id") or "<unknown-zone>"


def alert_context(event):
    context = okta_alert_context(event)
    context["zone_name"] = _zone(event).get("displayName") or ""
    context["zone_id"] = _zone(event).get("id") or ""
    return context
