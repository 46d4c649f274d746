"""Read-only, case-insensitive event objects handed to detections.

Key lookup tries the exact key first, then a lazily built lower-case index
(the first key wins when two keys differ only by case). Nested mappings and
lists come back wrapped, so a detection cannot change the event it sees.

The worker's events (owned_event) wrap JSON it decoded and nothing else
holds, so nothing can change them; work on one is kept for its lifetime
(one event of one batch, shared by the rules that run on it). Its mappings
hand out the same wrapper for a nested mapping or list every time (so a
lower-case index is looked up once per mapping, and shared by mappings
with the same keys), and the event remembers what each deep_get key path
resolved to (the default is applied afterwards). Wrappers made by anyone
else cache nothing: their data may change.
"""

import copy
import datetime
import json
from collections.abc import Mapping, Sequence


def _wrap(value):
    if isinstance(value, dict):
        return ImmutableCaseInsensitiveDict(value)
    if isinstance(value, list):
        return ImmutableList(value)
    return value


def _wrap_owned(value):
    """_wrap for a dict or list of an owned event: mappings cache their children."""
    if isinstance(value, dict):
        wrapped = ImmutableCaseInsensitiveDict(value)
        wrapped._children = {}
        return wrapped
    return ImmutableList(value)


def _lower_index(container):
    """Lower-cased key -> key; the first key wins when two differ only by case."""
    lower = {}
    for k in container:
        if isinstance(k, str):
            lower.setdefault(k.lower(), k)
    return lower


# The index depends on nothing but the keys in their order, and owned
# events are decoded JSON (keys are plain str), so events that look alike
# share it. Bounded: mappings with few keys only, cleared when full.
_LOWER_INDEXES = {}
_LOWER_INDEXES_MAX = 1024
_SHARED_INDEX_MAX_KEYS = 64


def _shared_lower_index(container):
    if len(container) > _SHARED_INDEX_MAX_KEYS:
        return _lower_index(container)
    keys = tuple(container)
    lower = _LOWER_INDEXES.get(keys)
    if lower is None:
        if len(_LOWER_INDEXES) >= _LOWER_INDEXES_MAX:
            _LOWER_INDEXES.clear()
        lower = _LOWER_INDEXES[keys] = _lower_index(container)
    return lower


def _unwrap(value):
    if isinstance(value, ImmutableCaseInsensitiveDict):
        return value.to_dict()
    if isinstance(value, ImmutableList):
        return value.as_list()
    return copy.deepcopy(value)


class ImmutableList(Sequence):
    """A read-only list whose nested containers are read-only too."""

    __slots__ = ("_container",)

    def __init__(self, data):
        self._container = tuple(data)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ImmutableList(self._container[index])
        return _wrap(self._container[index])

    def __iter__(self):
        # What Sequence.__iter__ yields, without an index probe per element.
        return map(_wrap, self._container)

    def __len__(self):
        return len(self._container)

    def __eq__(self, other):
        if isinstance(other, ImmutableList):
            return self._container == other._container
        if isinstance(other, (list, tuple)):
            return list(self._container) == list(other)
        return NotImplemented

    def __hash__(self):
        return hash(json.dumps(self._container, sort_keys=True, default=str))

    def __repr__(self):
        return repr(list(self._container))

    def copy(self):
        """A deep, mutable copy as a list."""
        return copy.deepcopy(list(self._container))

    as_list = copy
    to_list = copy


class ImmutableCaseInsensitiveDict(Mapping):
    """A read-only mapping with exact-then-case-insensitive key lookup."""

    __slots__ = ("_container", "_lower", "_children")

    def __init__(self, data):
        self._container = data
        self._lower = None
        self._children = None

    def _key(self, key):
        if key in self._container:
            return key
        if not isinstance(key, str):
            return key
        if self._lower is None:
            if self._children is None:
                self._lower = _lower_index(self._container)
            else:
                self._lower = _shared_lower_index(self._container)
        return self._lower.get(key.lower(), key)

    # _children is None, or (in an owned event) the wrappers of nested
    # containers handed out so far, by key.

    def _child(self, key, value):
        """The read-only wrapper of the nested container value at key."""
        children = self._children
        if children is None:
            return _wrap(value)
        wrapped = children.get(key)
        if wrapped is None:
            wrapped = children[key] = _wrap_owned(value)
        return wrapped

    def __getitem__(self, key):
        # _wrap(self._container[self._key(key)]), with the key lookup inline.
        container = self._container
        if key not in container:
            key = self._key(key)
        value = container[key]
        if isinstance(value, (dict, list)):
            return self._child(key, value)
        return value

    def get(self, key, default=None):
        container = self._container
        try:
            if key not in container:
                key = self._key(key)
            value = container[key]
        except KeyError:
            return default
        if isinstance(value, (dict, list)):
            return self._child(key, value)
        return value

    def __contains__(self, key):
        return self._key(key) in self._container

    def __iter__(self):
        return iter(self._container)

    def __len__(self):
        return len(self._container)

    def __eq__(self, other):
        if isinstance(other, ImmutableCaseInsensitiveDict):
            return self._container == other._container
        if isinstance(other, dict):
            return self._container == other
        return NotImplemented

    def __hash__(self):
        return hash(json.dumps(self._container, sort_keys=True, default=str))

    def __repr__(self):
        return repr(self._container)

    def copy(self):
        """A deep, mutable copy as a dict."""
        return copy.deepcopy(self._container)

    to_dict = copy


_UNSEEN = object()


def deep_get(obj, *keys, default=None):
    """Follow keys through nested mappings; default when a step is missing or None."""
    if not keys:
        return obj
    if type(obj) is PantherEvent and obj._memo is not None:
        value = _remembered(obj, keys)
    else:
        value = _follow(obj, keys)
    return default if value is None else value


def _remembered(event, keys):
    """_follow(event, keys) for an owned event, looked up once per key path."""
    memo = event._memo
    try:
        value = memo.get(keys, _UNSEEN)
    except TypeError:  # an unhashable key: not remembered, the lookup raises as it would
        memo = None
        value = _UNSEEN
    if value is _UNSEEN:
        value = _follow(event, keys)
        if memo is not None:
            memo[keys] = value
    return value


def _follow(value, keys):
    """What keys lead to from value, None when a step is missing, None or not a mapping."""
    for key in keys:
        kind = type(value)
        if kind is not ImmutableCaseInsensitiveDict and kind is not PantherEvent and not isinstance(value, Mapping):
            return None
        value = value.get(key)
        if value is None:
            return None
    return value


def deep_walk(obj, *keys, default=None, return_val="all"):
    """Follow keys through nested mappings and lists, collecting every value.

    Values found are flattened and de-duplicated in order. One value comes back
    as a scalar, several as a list (or the first/last with return_val).
    """
    found = []

    def walk(value, rest):
        if value is None:
            return
        if isinstance(value, (list, tuple, ImmutableList)):
            for element in value:
                walk(element, rest)
            return
        if not rest:
            if value not in found:
                found.append(value)
            return
        if isinstance(value, Mapping):
            walk(value.get(rest[0]), rest[1:])

    walk(obj, list(keys))
    if not found:
        return default
    if return_val == "first":
        return found[0]
    if return_val == "last":
        return found[-1]
    if len(found) == 1:
        return found[0]
    return found


class PantherEvent(ImmutableCaseInsensitiveDict):
    """The event object a detection receives: read-only, with helper methods."""

    # _memo is None, or (in an owned event) deep_get's results by key path:
    # the value found, None when there is none.
    __slots__ = ("data_model", "_memo")

    def __init__(self, data, data_model=None):
        self._container = data
        self._lower = None
        self._children = None
        self._memo = None
        self.data_model = data_model

    def deep_get(self, *keys, default=None):
        if not keys:
            return self
        value = _follow(self, keys) if self._memo is None else _remembered(self, keys)
        return default if value is None else value

    def deep_walk(self, *keys, default=None, return_val="all"):
        return deep_walk(self, *keys, default=default, return_val=return_val)

    def udm(self, *key, default=None):
        """Unified data model lookup: data-model mapping, then p_udm, then the event."""
        if len(key) == 1 and self.data_model is not None:
            found, value = self.data_model.resolve(key[0], self)
            if found:
                return _wrap(value) if value is not None else default
        value = deep_get(self, "p_udm", *key)
        if value is not None:
            return value
        return deep_get(self, *key, default=default)

    def udm_path(self, key):
        """The JSONPath a data model maps key to, or None."""
        if self.data_model is None:
            return None
        return self.data_model.path_of(key)

    def lookup(self, table, key):
        """Lookup-table value; tests supply it in _mocked_lookup_data_."""
        mocked = self._container.get("_mocked_lookup_data_")
        if isinstance(mocked, dict):
            return _wrap(deep_get(mocked, table, key))
        return None

    def event_time_epoch(self):
        """p_event_time as epoch seconds, 0 when absent or unparseable."""
        value = self._container.get("p_event_time")
        if not isinstance(value, str):
            return 0
        try:
            parsed = parse_panther_time(value)
        except ValueError:
            return 0
        return int(parsed.timestamp())


def owned_event(data, data_model=None):
    """The PantherEvent the worker hands detections for JSON it decoded: data
    must never change while the event is in use (it caches; see above)."""
    event = PantherEvent(data, data_model)
    event._children = {}
    event._memo = {}
    return event


def parse_panther_time(text):
    """Parse 'YYYY-MM-DD HH:MM:SS[.fraction]' (or RFC 3339) as a UTC datetime."""
    text = text.strip().replace("T", " ").rstrip("Z")
    if text.endswith(" UTC"):
        text = text[:-4]
    if "." in text:
        head, frac = text.split(".", 1)
        digits = "".join(ch for ch in frac if ch.isdigit())
        text = head + "." + (digits[:6].ljust(6, "0"))
        fmt = "%Y-%m-%d %H:%M:%S.%f"
    else:
        fmt = "%Y-%m-%d %H:%M:%S"
    return datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc)
