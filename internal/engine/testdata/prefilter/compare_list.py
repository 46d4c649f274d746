def rule(event):
    return event.get("target") == [] or event.get("request", {}).get("ipChain") == []
