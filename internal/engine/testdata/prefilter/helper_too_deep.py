from prefilter_test_helpers import level1


def rule(event):
    return level1(event)
