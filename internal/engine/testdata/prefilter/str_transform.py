def rule(event):
    flag = event.deep_get("debugContext", "debugData", "threatSuspected", default="")
    return str(flag).lower() == "true"
