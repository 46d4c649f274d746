"""Helpers for stateful detections (prowl's implementation)."""
