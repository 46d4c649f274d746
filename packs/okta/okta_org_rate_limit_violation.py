from panther_okta_helpers import okta_alert_context


def _debug(event, key):
    return event.deep_get("debugContext", "debugData", key, default="") or ""


def rule(event):
    return event.get("eventType") in (
        "system.org.rate_limit.violation",
        "core.concurrency.org.limit.violation",
    )


def title(event):
    endpoint = _debug(event, "requestUri") or _debug(event, "url") or "an API endpoint"
    if event.get("eventType") == "core.concurrency.org.limit.violation":
        return f"Okta: org-wide concurrent request limit exceeded on {endpoint}"
    return f"Okta: org-wide rate limit exceeded on {endpoint}"


def dedup(event):
    return f"{event.get('eventType')}:{_debug(event, 'requestUri') or 'unknown'}"


def alert_context(event):
    context = okta_alert_context(event)
    context["rate_limit_threshold"] = _debug(event, "threshold")
    context["rate_limit_window"] = f"{_debug(event, 'timeSpan')} {_debug(event, 'timeUnit')}".strip()
    context["request_uri"] = _debug(event, "requestUri")
    context["client_id"] = event.deep_get("client", "id", default="")
    return context
