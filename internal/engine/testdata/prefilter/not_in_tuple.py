COMMON = (
    "user.authentication.sso",
    "user.session.start",
    "user.authentication.auth_via_mfa",
    "policy.evaluate_sign_on",
    "app.oauth2.as.token.grant",
    "system.push.send_factor_verify_push",
    "user.session.end",
)


def rule(event):
    return event.get("eventType") not in COMMON
