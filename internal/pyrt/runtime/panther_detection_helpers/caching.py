"""A key-value cache for stateful detections: counters, string sets and
dictionaries with expiry. In tests the store is in memory and reset before
every test; a running server points PROWL_KV_PATH at a SQLite file shared by
all workers. Default time to live: 90 days."""

import json
import os
import sqlite3
import time
from collections.abc import Mapping

DEFAULT_TTL_SECONDS = 90 * 24 * 3600


class _MemoryStore:
    def __init__(self):
        self.items = {}

    def get(self, key):
        return self.items.get(key)

    def put(self, key, value, expires):
        self.items[key] = (value, expires)

    def delete(self, key):
        self.items.pop(key, None)


class _SQLiteStore:
    def __init__(self, path):
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER NOT NULL)"
        )

    def get(self, key):
        row = self.db.execute("SELECT value, expires FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return json.loads(row[0]), row[1]

    def put(self, key, value, expires):
        self.db.execute(
            "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
            (key, json.dumps(value), int(expires)),
        )

    def delete(self, key):
        self.db.execute("DELETE FROM kv WHERE key = ?", (key,))


_store = None


def _backend():
    global _store
    if _store is None:
        path = os.environ.get("PROWL_KV_PATH")
        _store = _SQLiteStore(path) if path else _MemoryStore()
    return _store


def reset_memory_store():
    """Start from an empty in-memory store (used before every unit test)."""
    global _store
    _store = _MemoryStore()


def _read(key, kind, empty):
    entry = _backend().get(key)
    if entry is None:
        return empty, None
    value, expires = entry
    if expires and expires < time.time():
        _backend().delete(key)
        return empty, None
    if not isinstance(value, dict) or value.get("kind") != kind:
        return empty, expires
    return value["data"], expires


def _write(key, kind, data, expires=None):
    if expires is None:
        _, expires = _read(key, kind, None)
    if expires is None:
        expires = int(time.time()) + DEFAULT_TTL_SECONDS
    _backend().put(key, {"kind": kind, "data": data}, expires)


def get_counter(key, force_ttl_check=False):  # noqa: ARG001 - expiry is always checked
    """The counter's value, 0 when absent or expired."""
    return _read(key, "counter", 0)[0]


def increment_counter(key, val=1):
    """Add val to the counter and return the new value."""
    value = get_counter(key) + int(val)
    _write(key, "counter", value)
    return value


def reset_counter(key):
    """Forget the counter."""
    _backend().delete(key)


def set_key_expiration(key, epoch_seconds):
    """Make key expire at epoch_seconds."""
    entry = _backend().get(key)
    if entry is not None:
        _backend().put(key, entry[0], int(epoch_seconds))


def get_string_set(key, force_ttl_check=False):  # noqa: ARG001
    """The string set, empty when absent or expired."""
    return set(_read(key, "string_set", [])[0])


def put_string_set(key, val, epoch_seconds=None):
    """Replace the string set."""
    if isinstance(val, str):
        val = [val]
    _write(key, "string_set", sorted(set(val)), epoch_seconds)


def add_to_string_set(key, val):
    """Add one string or several; return the new set."""
    values = get_string_set(key)
    values.update([val] if isinstance(val, str) else list(val))
    _write(key, "string_set", sorted(values))
    return values


def remove_from_string_set(key, val):
    """Remove one string or several; return the new set."""
    values = get_string_set(key)
    values.difference_update([val] if isinstance(val, str) else list(val))
    _write(key, "string_set", sorted(values))
    return values


def reset_string_set(key):
    """Forget the string set."""
    _backend().delete(key)


def get_dictionary(key, force_ttl_check=False):  # noqa: ARG001
    """The stored dictionary, empty when absent or expired."""
    return dict(_read(key, "dictionary", {})[0])


def put_dictionary(key, val, epoch_seconds=None):
    """Store a JSON-serialisable mapping."""
    if not isinstance(val, Mapping):
        raise TypeError("put_dictionary: val must be a mapping")
    _write(key, "dictionary", json.loads(json.dumps(dict(val), default=str)), epoch_seconds)


def evaluate_threshold(key, threshold=10, expiry_seconds=3600):
    """Count a hit; True (and start over) once threshold hits fall within the expiry window."""
    hits = increment_counter(key)
    if hits == 1:
        set_key_expiration(key, int(time.time()) + expiry_seconds)
    if hits >= threshold:
        reset_counter(key)
        return True
    return False
