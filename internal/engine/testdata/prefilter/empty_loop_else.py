# A loop over a literal empty dict never runs its body; its else clause
# does.
def rule(event):
    hits = []
    for key, value in {}.items():
        hits.append(key)
    else:
        if event.get("eventType") == "user.account.lock":
            hits.append("lock")
    return "lock" in hits
