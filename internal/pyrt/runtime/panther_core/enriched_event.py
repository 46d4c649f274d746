"""Shim: panther_core.enriched_event names."""

from prowl_event import PantherEvent  # noqa: F401
