from prefilter_test_helpers import matches


def rule(event):
    return matches(event) or matches(event, value="FAILURE", field="severity") or matches(event, "user.lifecycle.activate")
