def rule(event):
    asn = event.deep_get("securityContext", "asNumber")
    return asn == 7922 or asn == 9009.0 or event.get("version") == 0
