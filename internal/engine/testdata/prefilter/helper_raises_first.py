# The helper raises (NameError) before it returns an event value: every
# event must reach Python, whatever the caller does with the value.
def _actor(event):
    undefined_helper(event)
    return event.get("actor", {})


def rule(event):
    if not _actor(event).get("detailEntry"):
        return False
    return _actor(event)["type"] == "User"
