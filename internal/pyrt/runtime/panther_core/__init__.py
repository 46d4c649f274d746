"""Shim of panther_core's public names used by detection content."""

from prowl_event import PantherEvent  # noqa: F401
