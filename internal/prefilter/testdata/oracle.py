"""Python side of the prefilter property tests (run by oracle_test.go).

    oracle.py eval  IN OUT   IN: {"conds": [...], "events": ["<raw json>", ...]}
                             OUT: one string per condition, a character per
                             event: "1" when prowl_prefilter.evaluate holds.
    oracle.py rules IN OUT   IN: {"seed": n, "count": n, "dir": d, "files": [...],
                             "events": [...]}; writes `count` random rules (and
                             analyses the given rule files too), runs every
                             rule on every event through the real event object
                             and reports, per rule, its source, its prefilter
                             and a character per event: "F" when rule()
                             returned False, "X" otherwise (True, another
                             value, or an exception).

The rules mode also checks, in Python, that the prefilter holds on every
event marked "X" (prowl_prefilter.evaluate as the reference).
"""

import importlib.util
import json
import os
import random
import sys

import prowl_event
import prowl_prefilter

KEYS = ["eventType", "outcome", "result", "reason", "actor", "alternateId", "k", "a", "b", "n", "l", "s"]
STRS = ["x", "X", "user.session.start", "SUCCESS", "FAILURE", "true", "True", "unknown", "UNKNOWN", "", "abc", "é"]
NUMS = ["0", "1", "1.0", "-1", "100", "0.5"]
LITS = [repr(s) for s in STRS] + NUMS + ["True", "False", "None"]
ITEMS = ["'x'", "'SUCCESS'", "1", "None"]


class Gen:
    def __init__(self, rnd):
        self.r = rnd
        self.helpers = []
        self.consts = []

    def key(self):
        k = self.r.choice(KEYS)
        if self.r.random() < 0.2:
            k = "".join(c.upper() if self.r.random() < 0.5 else c.lower() for c in k)
        return repr(k)

    def lit(self):
        return self.r.choice(LITS)

    def item(self):
        """A value that generated rules put into lists and look for in them."""
        return self.r.choice(ITEMS)

    def strlit(self):
        return repr(self.r.choice(STRS))

    def default(self):
        return self.r.choice(["None", '""', "{}", "[]", "0", "False", self.strlit(), self.strlit()])

    def val(self, depth=0, names=()):
        r = self.r.random()
        if names and r < 0.15:
            return self.r.choice(names)
        choices = [
            lambda: f"event.get({self.key()})",
            lambda: f"event.get({self.key()}, {self.default()})",
            lambda: f"event[{self.key()}]",
            lambda: f"event.deep_get({self.key()}, {self.key()})",
            lambda: f"event.deep_get({self.key()}, {self.key()}, default={self.default()})",
            lambda: f"deep_get(event, {self.key()}, {self.key()}, {self.key()})",
            lambda: f"deep_get(event, {self.key()}, default={self.default()})",
            lambda: f"event.get({self.key()}, {{}}).get({self.key()})",
            lambda: f"event.get({self.key()}, {{}}).get({self.key()}, {self.default()})",
            lambda: f"event[{self.key()}][{self.key()}]",
        ]
        for h in self.value_helpers:
            choices += [lambda: f"{h}(event)", lambda: f"{h}(event).get({self.key()})", lambda: f"{h}(event)[{self.key()}]"]
        v = self.r.choice(choices)()
        t = self.r.random()
        if t < 0.1:
            v = f"{v}.lower()"
        elif t < 0.15:
            v = f"str({v})"
        elif t < 0.2:
            v = f"str({v}).upper()"
        return v

    def coll(self):
        items = ", ".join(self.lit() for _ in range(self.r.randint(0, 3)))
        kind = self.r.random()
        if kind < 0.4:
            return f"({items},)" if items else "()"
        if kind < 0.7:
            return f"[{items}]"
        if kind < 0.85 and items:
            return "{" + items + "}"
        if self.consts:
            return self.r.choice(self.consts)
        return f"({items},)" if items else "()"

    def cond(self, depth=0, names=()):
        r = self.r.random()
        if depth < 3 and r < 0.25:
            op = self.r.choice([" and ", " or "])
            return "(" + op.join(self.cond(depth + 1, names) for _ in range(self.r.randint(2, 3))) + ")"
        if depth < 3 and r < 0.32:
            return f"not {self.cond(depth + 1, names)}"
        if self.helpers and r < 0.38:
            return f"{self.r.choice(self.helpers)}(event)"
        v = self.val(depth, names)
        forms = [
            lambda: f"{v} == {self.lit()}",
            lambda: f"{self.lit()} == {v}",
            lambda: f"{v} != {self.lit()}",
            lambda: f"{v} in {self.coll()}",
            lambda: f"{v} not in {self.coll()}",
            lambda: f"{self.lit()} in {v}",
            lambda: f"{self.strlit()} not in {v}",
            lambda: f"{v}.startswith({self.strlit()})",
            lambda: f"{v}.endswith(({self.strlit()}, {self.strlit()}))",
            lambda: f"{v} is None",
            lambda: f"{v} is not None",
            lambda: f"{v} is True",
            lambda: f"bool({v})",
            lambda: f"{v}",
            lambda: f"isinstance({v}, str)",
            lambda: f"{self.key()} in event",
            lambda: f"({v} if {self.cond(depth + 1, names)} else {self.lit()})",
            lambda: f"unknown_function({v})",
            lambda: f"hasattr({self.r.choice([v, '{}', self.lit()])}, {self.r.choice(['items', 'lower', 'append'])!r})",
        ]
        if self.lists:
            xs = self.r.choice(self.lists)
            forms += [lambda: f"{self.item()} in {xs}", lambda: f"{self.item()} not in {xs}", lambda: xs]
        return self.r.choice(forms)()

    def opaque(self, indent, depth, names):
        """A loop, try or with statement, often building a list."""
        i2 = indent + "    "
        target = self.r.choice(self.lists) if self.lists and self.r.random() < 0.7 else None
        name = f"v{len(names)}"
        grow = f"{i2}    {target}.append({self.r.choice([name, self.val(), self.item()])})" if target else f"{i2}    pass"
        r = self.r.random()
        if r < 0.35:
            it = self.r.choice([self.val(), self.coll(), "{}.items()", "()", "[]", "range(2)", f"str({self.val()}).split(',')"])
            lines = [f"{indent}for {name} in {it}:", f"{i2}if {self.cond(0, names)}:", grow]
            if self.r.random() < 0.3:
                lines += [f"{i2}if {self.cond(0, names)}:", f"{i2}    {self.r.choice(['break', 'continue'])}"]
            if self.r.random() < 0.2:
                lines += [f"{indent}else:", f"{i2}{name} = {self.lit()}"]
        elif r < 0.6:
            exc = self.r.choice(["Exception", "ValueError", "(AttributeError, KeyError)", "TypeError as err"])
            lines = [f"{indent}try:", f"{i2}{name} = {self.val()}.lower()", f"{i2}if {self.cond(0, names)}:", grow,
                     f"{indent}except {exc}:", f"{i2}{name} = {self.lit()}"]
        elif r < 0.8:
            lines = [f"{indent}with contextlib.suppress({self.r.choice(['Exception', 'KeyError'])}):",
                     f"{i2}{name} = {self.val()}[{self.key()}]", f"{i2}if {self.cond(0, names)}:", grow]
        else:
            lines = [f"{indent}while {self.cond(0, names)}:", f"{i2}{name} = {self.val()}",
                     f"{i2}if True:", grow, f"{i2}break"]
        names.append(name)
        return lines

    def body(self, indent, depth, names):
        lines = []
        names = list(names)
        lists = len(self.lists)
        for _ in range(self.r.randint(0, 3)):
            r = self.r.random()
            if r < 0.08:
                name = f"xs{len(self.lists)}"
                lines.append(f"{indent}{name} = {self.r.choice(['[]', '[]', '{}', self.coll()])}")
                self.lists.append(name)
            elif r < 0.12 and len(self.lists) > lists:
                alias = f"xs{len(self.lists)}"
                lines.append(f"{indent}{alias} = {self.r.choice(self.lists[lists:])}")
                self.lists.append(alias)
            elif r < 0.2:
                lines.extend(self.opaque(indent, depth, names))
            elif r < 0.3:
                name = f"v{len(names)}"
                if self.r.random() < 0.3:
                    lines.append(f"{indent}{name} = {self.val(0, names)} if {self.cond(0, names)} else {self.lit()}")
                else:
                    lines.append(f"{indent}{name} = {self.val(0, names)}")
                names.append(name)
            elif r < 0.75:
                lines.append(f"{indent}if {self.cond(0, names)}:")
                lines.append(f"{indent}    return {self.r.choice(['False', 'False', 'True', self.cond(0, names)])}")
            elif depth < 2:
                lines.append(f"{indent}if {self.cond(0, names)}:")
                lines.extend(self.body(indent + "    ", depth + 1, names) or [f"{indent}    pass"])
                if self.r.random() < 0.5:
                    lines.append(f"{indent}else:")
                    lines.extend(self.body(indent + "    ", depth + 1, names) or [f"{indent}    pass"])
            else:
                lines.append(f"{indent}assert {self.cond(0, names)}")
        del self.lists[lists:]  # names bound in this block are out of scope for other blocks
        return lines

    def module(self):
        out = ["import contextlib", "from panther_base_helpers import deep_get", ""]
        self.helpers, self.consts, self.lists, self.value_helpers = [], [], [], []
        for i in range(self.r.randint(0, 2)):
            name = f"CONST{i}"
            items = ", ".join(self.lit() for _ in range(self.r.randint(1, 3)))
            out.append(f"{name} = ({items},)" if self.r.random() < 0.5 else f"{name} = [{items}]")
            self.consts.append(name)
        for i in range(self.r.randint(0, 1)):
            # A helper that returns an event value, maybe after raising.
            name = f"value{i}"
            out.append(f"def {name}(event):")
            if self.r.random() < 0.5:
                out.append(f"    {self.r.choice(['unknown_function(event)', 'event[' + self.key() + ']'])}")
            out.append(f"    return {self.val()}")
            self.value_helpers.append(name)
        for i in range(self.r.randint(0, 2)):
            name = f"helper{i}"
            out.append(f"def {name}(event):")
            if self.r.random() < 0.4:
                # A helper that collects into a list and returns it.
                out.append("    found = []")
                self.lists = ["found"]
                out.extend(self.body("    ", 1, ()))
                out.extend(self.opaque("    ", 1, []))
                out.append("    return found")
                self.lists = []
                self.helpers.append(f"{self.item()} in {name}")
                continue
            out.extend(self.body("    ", 1, ()))
            out.append(f"    return {self.r.choice(['True', 'False', self.cond()])}")
            self.helpers.append(name)
        out.append("def rule(event):")
        out.extend(self.body("    ", 0, ()))
        last = self.r.random()
        if last < 0.85:
            out.append(f"    return {self.cond()}")
        elif last < 0.92:
            out.append("    return None")
        return "\n".join(out) + "\n"


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def verdicts(rule, events):
    out = []
    for raw in events:
        try:
            value = rule(prowl_event.PantherEvent(raw))
        except Exception:  # noqa: BLE001 - an exception reaches the engine as a rule error
            value = None
        out.append("F" if value is False else "X")
    return "".join(out)


def rules_mode(req):
    events = [json.loads(e) for e in req["events"]]
    rnd = random.Random(req["seed"])
    gen = Gen(rnd)
    files = list(req.get("files") or [])
    for i in range(req["count"]):
        path = os.path.join(req["dir"], f"random_rule_{i}.py")
        with open(path, "w") as f:
            f.write(gen.module())
        files.append(path)
    out = []
    for i, path in enumerate(files):
        try:
            module = load(path, f"oracle_rule_{i}")
        except Exception:  # noqa: BLE001 - e.g. a generated module-level error
            continue
        rule = getattr(module, "rule", None)
        if rule is None:
            continue
        cond = prowl_prefilter.analyse(rule)
        v = verdicts(rule, events)
        for j, mark in enumerate(v):
            if mark == "X" and not prowl_prefilter.evaluate(cond, events[j]):
                raise SystemExit(f"UNSOUND in Python: {path} on event {j}: {req['events'][j]}\ncond {json.dumps(cond)}")
        with open(path) as f:
            source = f.read()
        out.append({"file": path, "source": source, "cond": cond, "verdicts": v})
    return out


def eval_mode(req):
    events = [json.loads(e) for e in req["events"]]
    return ["".join("1" if prowl_prefilter.evaluate(c, e) else "0" for e in events) for c in req["conds"]]


def main():
    mode, src, dst = sys.argv[1:4]
    with open(src) as f:
        req = json.load(f)
    out = rules_mode(req) if mode == "rules" else eval_mode(req)
    with open(dst, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
