# A list filled through an alias inside a loop, then tested through the
# original name; and a conditional expression assigned before the test.
def rule(event):
    seen = []
    alias = seen
    kind = event.get("eventType") if event.get("outcome") else "none"
    if kind == "none":
        return False
    for target in event.get("target") or []:
        alias.append(target.get("type"))
    return "User" in seen
