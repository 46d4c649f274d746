"""Shim: panther_core.immutable names."""

from prowl_event import ImmutableCaseInsensitiveDict, ImmutableList  # noqa: F401
