from prefilter_test_helpers import signin_failed


def rule(event):
    return signin_failed(event)
