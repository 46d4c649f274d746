from panther_okta_helpers import okta_alert_context
from prowl_okta_helpers import target_user


def rule(event):
    return event.get("eventType") in (
        "user.session.impersonation.initiate",
        "user.session.impersonation.grant",
    ) and event.deep_get("outcome", "result") == "SUCCESS"


def title(event):
    actor = event.deep_get("actor", "alternateId", default="<unknown-actor>")
    if event.get("eventType") == "user.session.impersonation.grant":
        return f"Okta: {actor} granted Okta Support permission to sign in to the org"
    target = target_user(event).get("alternateId") or "<unknown-user>"
    return f"Okta: impersonation session started by {actor} as {target}"


def severity(event):
    # Enabling support access is a configuration change; an actual session is riskier.
    if event.get("eventType") == "user.session.impersonation.grant":
        return "MEDIUM"
    return "DEFAULT"


def dedup(event):
    actor = event.deep_get("actor", "alternateId", default="<unknown-actor>").lower()
    return f"{event.get('eventType')}:{actor}"


def alert_context(event):
    context = okta_alert_context(event)
    context["impersonated_user"] = target_user(event).get("alternateId") or ""
    return context
