"""prowl's implementation of the helper functions detection content imports
from panther_base_helpers. Written for prowl; same names and behaviour."""

import base64
import binascii
import datetime
import fnmatch
import ipaddress
import json
import re
import string
from collections.abc import Mapping, Sequence

from prowl_event import deep_get, deep_walk, parse_panther_time

SEVERITY_LEVELS = ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
EMAIL_REGEX = re.compile(r"[\w.+%-]+@[\w.-]+\.[A-Za-z]{2,}")

__all__ = [
    "deep_get", "deep_walk", "get_val_from_list", "is_ip_in_network", "pattern_match",
    "pattern_match_list", "defang_ioc", "ioc_match", "panther_nanotime_to_python_datetime",
    "golang_nanotime_to_python_datetime", "is_base64", "key_value_list_to_dict", "listify",
    "resolve_timestamp_string", "time_delta", "nano_to_micro", "add_parse_delay",
    "pantherflow_investigation", "severity_greater_than", "SEVERITY_LEVELS", "EMAIL_REGEX",
    "dbprint", "PantherUnexpectedAlert",
]


class PantherUnexpectedAlert(Exception):
    """Raised by content that wants a test to fail loudly."""


def get_val_from_list(list_of_dicts, return_field_key, field_cmp_key, field_cmp_val):
    """Values of return_field_key in the dicts whose field_cmp_key equals field_cmp_val."""
    found = set()
    for item in list_of_dicts or []:
        if isinstance(item, Mapping) and item.get(field_cmp_key) == field_cmp_val:
            if return_field_key in item:
                found.add(item.get(return_field_key))
    return found


def is_ip_in_network(ip_addr, networks):
    """True when ip_addr lies in any of the CIDR networks."""
    try:
        address = ipaddress.ip_address(ip_addr)
    except (ValueError, TypeError):
        return False
    for network in networks or []:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def pattern_match(string_to_match, pattern):
    """Shell-style wildcard match (fnmatch)."""
    return fnmatch.fnmatch(str(string_to_match), pattern)


def pattern_match_list(string_to_match, patterns):
    """True when any of the wildcard patterns matches."""
    return any(fnmatch.fnmatch(str(string_to_match), p) for p in patterns or [])


def defang_ioc(ioc):
    """Make an indicator safe to paste: 1.2.3.4 -> 1[.]2[.]3[.]4, http -> hxxp."""
    text = str(ioc)
    text = text.replace("http", "hxxp").replace("://", "[://]")
    return text.replace(".", "[.]")


def ioc_match(indicators, known_iocs):
    """The indicators that appear in the known set, defanged."""
    return [defang_ioc(i) for i in indicators or [] if i in known_iocs]


def panther_nanotime_to_python_datetime(panther_time):
    """Parse a 'YYYY-MM-DD HH:MM:SS.fffffffff' p_ timestamp (naive, UTC)."""
    return parse_panther_time(panther_time).replace(tzinfo=None)


def golang_nanotime_to_python_datetime(golang_time):
    """Parse Go's default time format 'YYYY-MM-DD HH:MM:SS.fffffffff +0000 UTC'."""
    text = str(golang_time).split(" +")[0].split(" -")[0]
    return parse_panther_time(text).replace(tzinfo=None)


def is_base64(text, min_length=28):
    """The decoded text when text is printable base64 of at least min_length, else ''."""
    if not isinstance(text, str) or len(text) < min_length:
        return ""
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""
    if decoded and all(ch in string.printable for ch in decoded):
        return decoded
    return ""


def key_value_list_to_dict(list_objects, key, value):
    """[{'key': k, 'value': v}, ...] -> {k: v, ...} for the given key/value names."""
    return {item[key]: item[value] for item in list_objects or [] if key in item and value in item}


def listify(maybe_list):
    """Wrap a scalar (or a string) in a list; pass sequences through."""
    if maybe_list is None:
        return []
    if isinstance(maybe_list, (str, bytes, Mapping)):
        return [maybe_list]
    if isinstance(maybe_list, Sequence):
        return list(maybe_list)
    try:
        return list(maybe_list)
    except TypeError:
        return [maybe_list]


def resolve_timestamp_string(timestamp):
    """Parse the timestamp formats seen in logs; None when unknown."""
    if not timestamp:
        return None
    if isinstance(timestamp, (int, float)):
        return datetime.datetime.utcfromtimestamp(timestamp)
    text = str(timestamp)
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ",
                "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            pass
    try:
        return panther_nanotime_to_python_datetime(text)
    except ValueError:
        return None


def time_delta(time1, time2):
    """Human-readable difference between two timestamps, e.g. '2 days 3 hours 4 minutes'."""
    first = resolve_timestamp_string(time1)
    second = resolve_timestamp_string(time2)
    if first is None or second is None:
        return ""
    seconds = int(abs((second - first).total_seconds()))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes = seconds // 60
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def nano_to_micro(time_str):
    """Cut a nanosecond timestamp's fraction to microseconds."""
    text = str(time_str)
    if "." not in text:
        return text
    head, frac = text.split(".", 1)
    return head + "." + frac[:6]


def add_parse_delay(event, context):
    """Add 'parseDelay' (p_parse_time - p_event_time) to an alert context dict."""
    parsed = resolve_timestamp_string(deep_get(event, "p_parse_time"))
    happened = resolve_timestamp_string(deep_get(event, "p_event_time"))
    if parsed and happened:
        context["parseDelay"] = f"{parsed - happened}"
    return context


def pantherflow_investigation(event, interval="30m"):
    """A starter search over the lake for the event's indicators."""
    event_time = deep_get(event, "p_event_time", default="")
    indicators = []
    for key in event:
        if str(key).startswith("p_any_"):
            values = event.get(key)
            if values:
                indicators.extend(map(str, values))
    # The quoted terms joined with ", ", as json.dumps writes a list of strings.
    terms = json.dumps(indicators[:20])[1:-1]
    return (
        f"-- events within {interval} of {event_time} sharing an indicator\n"
        f"prowl search {terms}" if terms else f"-- no indicators on this event ({event_time})"
    )


def severity_greater_than(severity_one, severity_two):
    """True when severity_one ranks above severity_two."""
    return SEVERITY_LEVELS.index(str(severity_one).upper()) > SEVERITY_LEVELS.index(str(severity_two).upper())


def dbprint(message):
    """Debug print that shows up in test output."""
    print(message)
