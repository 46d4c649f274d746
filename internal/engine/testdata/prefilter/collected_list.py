# A helper that collects names into a list in loops and a try; the rule
# looks for one name in it.
import json


def flagged(event):
    found = []
    raw = event.deep_get("debugContext", "debugData", "behaviors")
    if isinstance(raw, str) and "POSITIVE" in raw:
        for pair in raw.strip("{}").split(","):
            name, _, verdict = pair.partition("=")
            if verdict.strip() == "POSITIVE":
                found.append(name.strip())
    extra = event.deep_get("debugContext", "debugData", "risk")
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except ValueError:
            extra = None
    levels = extra.get("level", []) if hasattr(extra, "get") else []
    for level in levels:
        found.append(level)
    return found


def rule(event):
    if event.get("eventType") != "user.session.start":
        return False
    return "New IP" in flagged(event)
