from prefilter_test_helpers import MUTABLE_TYPES

TYPES = ["user.lifecycle.deactivate"]
TYPES.append("user.account.reset_password")


def rule(event):
    return event.get("eventType") in TYPES or (event.get("eventType") in MUTABLE_TYPES and event.get("severity") == "ERROR")
