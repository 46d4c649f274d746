"""Helpers the tricky prefilter rules import (a repository global)."""

from panther_base_helpers import deep_get

SIGNIN = "user.session.start"
MUTABLE_TYPES = ["user.session.end"]
MUTABLE_TYPES.append("user.session.start")  # changed after it was built: never trusted


def is_signin(event):
    return event.get("eventType") == SIGNIN


def outcome(event):
    return deep_get(event, "outcome", "result")


def signin_failed(event):
    if not is_signin(event):
        return False
    return outcome(event) == "FAILURE"


def level1(event):
    return level2(event)


def level2(event):
    return level3(event)


def level3(event):
    return level4(event)


def level4(event):
    return event.get("eventType") == "user.session.end"


def matches(event, value="user.session.end", field="eventType"):
    return event.get(field) == value
