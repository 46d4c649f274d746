"""Data models: unified field names mapped to JSONPath expressions or methods.

The JSONPath subset covers what detection content uses: `$`, dotted and
bracketed names, indexes, `[*]`, recursive descent `..name` and simple
filters `[?(@.field == 'value')]` (also `!=`).
"""

import re

_TOKEN = re.compile(
    r"""
    \.\.(?P<descend>[A-Za-z_@$][\w@$\-]*|\*)   # ..name
  | \.(?P<name>[A-Za-z_@$][\w@$\-]*|\*)        # .name
  | \[\s*(?P<index>-?\d+)\s*\]                 # [0]
  | \[\s*\*\s*\]                               # [*]
  | \[\s*(?P<quote>['"])(?P<qname>.*?)(?P=quote)\s*\]   # ['name']
  | \[\s*\?\(\s*@\.(?P<fkey>[\w.\-]+)\s*(?P<fop>==|!=)\s*(?P<fq>['"])(?P<fval>.*?)(?P=fq)\s*\)\s*\]
    """,
    re.VERBOSE,
)


class JSONPathError(ValueError):
    """An unsupported or malformed JSONPath expression."""


def compile_path(path):
    """Compile a JSONPath into a list of steps; raises JSONPathError."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    elif text:
        text = "." + text
    steps = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise JSONPathError(f"unsupported JSONPath {path!r} at position {pos + 1}")
        pos = m.end()
        if m.group("descend") is not None:
            steps.append(("descend", m.group("descend")))
        elif m.group("name") is not None:
            name = m.group("name")
            steps.append(("all", None) if name == "*" else ("key", name))
        elif m.group("index") is not None:
            steps.append(("index", int(m.group("index"))))
        elif m.group("qname") is not None:
            steps.append(("key", m.group("qname")))
        elif m.group("fkey") is not None:
            steps.append(("filter", (m.group("fkey").split("."), m.group("fop"), m.group("fval"))))
        else:
            steps.append(("all", None))
    return steps


def _get(value, key):
    from collections.abc import Mapping

    if isinstance(value, Mapping):
        try:
            return [value[key]]
        except KeyError:
            return []
    return []


def _children(value):
    from collections.abc import Mapping, Sequence

    if isinstance(value, Mapping):
        return [value[k] for k in value]
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return []


def _descend(value, name):
    out = []
    stack = [value]
    while stack:
        current = stack.pop(0)
        if name == "*":
            out.extend(_children(current))
        else:
            out.extend(_get(current, name))
        stack.extend(_children(current))
    return out


def _filter_ok(element, keys, op, want):
    current = element
    for key in keys:
        got = _get(current, key)
        if not got:
            return op == "!="
        current = got[0]
    return (str(current) == want) if op == "==" else (str(current) != want)


def evaluate(steps, root):
    """All values the compiled path selects in root."""
    from collections.abc import Sequence

    current = [root]
    for kind, arg in steps:
        nxt = []
        for value in current:
            if kind == "key":
                nxt.extend(_get(value, arg))
            elif kind == "all":
                nxt.extend(_children(value))
            elif kind == "index":
                if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
                    try:
                        nxt.append(value[arg])
                    except IndexError:
                        pass
            elif kind == "descend":
                nxt.extend(_descend(value, arg))
            elif kind == "filter":
                keys, op, want = arg
                nxt.extend(e for e in _children(value) if _filter_ok(e, keys, op, want))
        current = nxt
    return current


class DataModel:
    """One log type's mappings from unified names to paths or methods."""

    def __init__(self, model_id, mappings, module=None):
        self.id = model_id
        self._paths = {}
        self._methods = {}
        for mapping in mappings:
            name = mapping["name"]
            if mapping.get("path"):
                self._paths[name] = (mapping["path"], compile_path(mapping["path"]))
            else:
                method = getattr(module, mapping["method"], None) if module else None
                if not callable(method):
                    raise AttributeError(
                        f"data model {model_id}: method {mapping['method']!r} for {name!r} is not defined"
                    )
                self._methods[name] = method

    def resolve(self, name, event):
        """(True, value) when the model maps name, else (False, None)."""
        if name in self._methods:
            return True, self._methods[name](event)
        if name in self._paths:
            values = evaluate(self._paths[name][1], event)
            if not values:
                return True, None
            if len(values) > 1:
                raise ValueError(f"data model path {self._paths[name][0]!r} matched {len(values)} values")
            return True, values[0]
        return False, None

    def path_of(self, name):
        entry = self._paths.get(name)
        return entry[0] if entry else None
