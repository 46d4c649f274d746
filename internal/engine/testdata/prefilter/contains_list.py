def rule(event):
    ips = event.get("p_any_ip_addresses", [])
    return "203.0.113.45" in ips or "198.51.100.77" in event.deep_get("client", "ipAddress", default="")
