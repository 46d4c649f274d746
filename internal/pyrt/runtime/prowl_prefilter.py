"""Static prefilters: a necessary condition on event fields for each rule.

At load time the worker reads the source of every rule's rule() function with
Python's own ast module and derives a condition over the event's fields such
that

    if rule(event) returns anything but False (True, another value, or an
    exception), then the condition holds on the event.

Go evaluates the condition on the raw event JSON and sends the event to
Python only when it holds (or cannot be decided). A condition that is too
wide costs speed; one that is too narrow would silently drop alerts or rule
errors, so every construct the analyser does not fully understand becomes
{"op": "true"} for its branch.

Condition language (JSON; "path" is a list of keys looked up like the event
object does it: exact key first, then the first key in document order whose
lower-case form equals the key's lower case; a step through anything but an
object, or an absent key, makes the path "missing"):

    {"op": "true"} / {"op": "false"}
    {"op": "and" | "or", "args": [...]}, {"op": "not", "args": [c]}
    {"op": "type", "path": p, "types": [...]}  # missing null string number bool object array
    {"op": "eq", "path": p, "value": v}        # present, not null, value == v (Python ==)
    {"op": "in", "path": p, "values": [...]}   # eq to any
    {"op": "startswith" | "endswith", "path": p, "value": s}   # string values only
    {"op": "contains", "path": p, "value": v}  # s in string / v in array / key in object
    {"op": "truthy", "path": p}                # present, not null, Python-truthy

eq, in, startswith, endswith, contains and truthy may carry "transform": a
list applied to the value first: ["lower"], ["upper"], ["str"], ["str",
"lower"], ["str", "upper"]. A transform that would raise on a value's type
(lower on a number) makes the atom false there; the analyser accounts for the
raise separately. Atoms are false on missing and null paths.

How a rule is read (all of it is symbolic execution over the AST):
  * every expression gets four conditions: when it may raise, when it may be
    truthy, when it may be falsy and when its value may be something other
    than the False singleton (a rule's return value is checked with `is`).
    They are over-approximations built only with and/or; "not" is applied to
    exact atoms only, which keeps every step sound.
  * event.get(k[, d]), event[k], event.deep_get(...)/deep_get(event, ...),
    .get/[] chains on looked-up values, .lower()/.upper()/str(), comparisons
    with literals and literal collections (module constants included when
    they cannot change), in/not in, is None, startswith/endswith, bool(),
    isinstance(x, str|bool), and/or/not, conditional expressions.
  * statements: if/elif/else with early returns, assignments to local names
    (aliases; `x = a if c else b` splits the path like an if), assert, pass,
    return. Any other statement (loops, try, with, calls that cannot be seen
    through) makes the paths through it unconstrained: they count as "may
    raise", so nothing after it on that path matters, while the function's
    other paths keep their conditions and return values. A for loop over a
    literal empty collection is skipped.
  * `c in xs`, where every path of a helper returns a literal list, tuple,
    dict or set (or one that stays empty), holds only where xs may be
    non-empty: a helper that collects matches into a list inside loops
    constrains its callers by the paths that reach those loops.
  * calls to plain Python functions (same module or imported helpers) are
    inlined up to MAX_DEPTH levels when their code is available and matches
    the running function.

Assumption: detections do not rebind the module-level names of other modules
at run time (monkeypatching); a detection's own module-level names are only
trusted when they are bound exactly once.
"""

import ast
import builtins
import json
import math
import types

import prowl_event

MISSING, NULL, STRING, NUMBER, BOOL, OBJECT, ARRAY = "missing", "null", "string", "number", "bool", "object", "array"
PRESENT = (STRING, NUMBER, BOOL, OBJECT, ARRAY)
ALL_TYPES = (MISSING, NULL) + PRESENT
TYPE_ORDER = {t: i for i, t in enumerate(ALL_TYPES)}

TRUE = {"op": "true"}
FALSE = {"op": "false"}

# The builtins as they were when the worker started: a detection that
# rebinds builtins.bool gets no prefilter that relies on it.
_BOOL, _STR, _ISINSTANCE, _HASATTR = builtins.bool, builtins.str, builtins.isinstance, builtins.hasattr
_DEEP_GET = prowl_event.deep_get
_MATCH_NAMES = tuple(getattr(ast, n) for n in ("MatchAs", "MatchStar") if hasattr(ast, n))
_MATCH_MAPPING = getattr(ast, "MatchMapping", ())
# Names that can rebind a module's globals behind the analyser's back.
_DYNAMIC = {"globals", "vars", "setattr", "delattr", "exec", "eval", "__import__", "__dict__", "sys", "importlib"}

MAX_DEPTH = 3  # rule -> helper -> helper's helper
MAX_STEPS = 20000
MAX_COND_BYTES = 64 * 1024
TRANSFORMS = ((), ("lower",), ("upper",), ("str",), ("str", "lower"), ("str", "upper"))

# ---------------------------------------------------------------- conditions


def _get_args(args, kwargs):
    """(key, default) of a .get(key[, default]) call with constant arguments
    the analyser understands, else None."""
    if len(args) not in (1, 2) or set(kwargs) - {"default"} or (len(args) == 2 and kwargs):
        return None
    k = _const_of(args[0])
    if k is None or not isinstance(k[0], str):
        return None
    default = None
    d = args[1] if len(args) == 2 else kwargs.get("default")
    if d is not None:
        c = _const_of(d)
        if c is None or not _default_ok(c[0]):
            return None
        default = c[0]
    return k[0], default


def _ckey(c):
    return json.dumps(c, sort_keys=True, separators=(",", ":"))


def _flatten(op, args, absorbing, identity):
    """The operands of an n-ary op: nested ones of the same op inlined,
    identities dropped, duplicates removed. None when an operand absorbs."""
    out, seen = [], set()
    for a in args:
        if a["op"] == absorbing["op"]:
            return None
        if a["op"] == identity["op"]:
            continue
        for x in (a["args"] if a["op"] == op else [a]):
            k = _ckey(x)
            if k not in seen:
                seen.add(k)
                out.append(x)
    return out


def AND(*args):
    out = _flatten("and", args, FALSE, TRUE)
    if out is None:
        return FALSE
    if not out:
        return TRUE
    out = _merge_types(out, union=False)
    if any(x["op"] == "false" for x in out):
        return FALSE
    out = [x for x in out if x["op"] != "true"]
    if not out:
        return TRUE
    if len(out) == 1:
        return out[0]
    return {"op": "and", "args": out}


def OR(*args):
    out = _flatten("or", args, TRUE, FALSE)
    if out is None:
        return TRUE
    if not out:
        return FALSE
    out = _merge_types(out, union=True)
    if any(x["op"] == "true" for x in out):
        return TRUE
    # excluded middle: A or not A
    keys = {_ckey(x) for x in out}
    if any(x["op"] == "not" and _ckey(x["args"][0]) in keys for x in out):
        return TRUE
    # absorption: A or (A and B) == A
    keys = {_ckey(x) for x in out}
    kept = []
    for x in out:
        if x["op"] == "and" and any(_ckey(y) in keys for y in x["args"]):
            continue
        kept.append(x)
    if len(kept) == 1:
        return kept[0]
    # common factor: (A and B) or (A and C) == A and (B or C)
    conj = [x["args"] if x["op"] == "and" else [x] for x in kept]
    common = set.intersection(*[{_ckey(y) for y in c} for c in conj])
    if common:
        shared = [y for y in conj[0] if _ckey(y) in common]
        rests = [AND(*[y for y in c if _ckey(y) not in common]) for c in conj]
        return AND(*shared, OR(*rests))
    return {"op": "or", "args": kept}


def _merge_types(args, union):
    """Merge type atoms on the same path: or -> union, and -> intersection."""
    merged, order, out = {}, [], []
    for x in args:
        if x["op"] == "type":
            k = tuple(x["path"])
            if k in merged:
                a, b = set(merged[k]), set(x["types"])
                merged[k] = (a | b) if union else (a & b)
            else:
                merged[k] = set(x["types"])
                order.append(k)
        else:
            out.append(x)
    for k in order:
        out.append(TYPE(k, merged[k]))
    return out


def NOT(c):
    """Negation; only ever applied to exact conditions (atoms and their and/or)."""
    if c["op"] == "true":
        return FALSE
    if c["op"] == "false":
        return TRUE
    if c["op"] == "not":
        return c["args"][0]
    return {"op": "not", "args": [c]}


def TYPE(path, types_):
    ts = sorted(set(types_), key=TYPE_ORDER.get)
    if not ts:
        return FALSE
    if len(ts) == len(ALL_TYPES):
        return TRUE
    return {"op": "type", "path": list(path), "types": ts}


MAX_MINIMISE_ATOMS = 9


def minimise(c):
    """An equivalent condition that is often much smaller: the prime
    implicants of c's truth table over its atoms (Quine-McCluskey, greedy
    cover), when c has at most MAX_MINIMISE_ATOMS distinct atoms and the
    result is shorter. Atoms are treated as independent, so the result is
    equivalent on every event; Go's three-valued evaluation of an equivalent
    formula never answers false where the original holds."""
    atoms, index = [], {}

    def collect(x):
        if x["op"] in ("and", "or", "not"):
            for a in x["args"]:
                collect(a)
        elif x["op"] not in ("true", "false"):
            k = _ckey(x)
            if k not in index:
                index[k] = len(atoms)
                atoms.append(x)

    collect(c)
    n = len(atoms)
    if n == 0 or n > MAX_MINIMISE_ATOMS:
        return c

    ones = [m for m in range(1 << n) if holds(c, lambda atom: bool(m >> index[_ckey(atom)] & 1))]
    if len(ones) in (0, 1 << n):
        return TRUE if ones else FALSE
    # Implicants are (bits, care mask) pairs; merge pairs one bit apart.
    full = (1 << n) - 1
    level, primes = {(m, full) for m in ones}, set()
    while level:
        merged, nxt = set(), set()
        items = sorted(level)
        for i, (v, care) in enumerate(items):
            for w, care2 in items[i + 1:]:
                diff = v ^ w
                if care == care2 and diff & (diff - 1) == 0:
                    nxt.add((v & ~diff, care & ~diff))
                    merged.update(((v, care), (w, care2)))
        primes |= level - merged
        level = nxt
    uncovered, cover = set(ones), []
    while uncovered:
        best = max(sorted(primes), key=lambda p: (sum(1 for m in uncovered if m & p[1] == p[0]), -bin(p[1]).count("1")))
        cover.append(best)
        uncovered = {m for m in uncovered if m & best[1] != best[0]}
    terms = [AND(*[atoms[j] if v >> j & 1 else NOT(atoms[j]) for j in range(n) if care >> j & 1]) for v, care in cover]
    out = OR(*terms)
    return out if len(_ckey(out)) < len(_ckey(c)) else c


def _atom(op, path, xform, **fields):
    d = {"op": op, "path": list(path)}
    d.update(fields)
    if xform:
        d["transform"] = list(xform)
    return d


# ---------------------------------------------------------------- values

RAISE = object()  # a class whose value computation raises


class Lookup:
    """A value read from the event: the JSON value at path, transformed.

    miss and null are the Python values the expression has when the path is
    missing or null (or RAISE); present values come from the event.
    """

    __slots__ = ("path", "miss", "null", "raise_", "xform", "rtypes")

    def __init__(self, path, miss, null, raise_=FALSE, xform=(), rtypes=frozenset()):
        self.path = tuple(path)
        self.miss = miss
        self.null = null
        self.raise_ = raise_
        self.xform = tuple(xform)
        self.rtypes = frozenset(rtypes)  # present types of path where computing the value raised


class Coll:
    """A literal collection of scalars (tuple, list, set, frozenset)."""

    __slots__ = ("values", "value")

    def __init__(self, value):
        self.value = value
        self.values = tuple(value)


class Func:
    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


EVENT = "event"
DEEP_GET = "deep_get"
BUILTIN = "builtin"


class AV:
    """Abstract value of an expression: conditions under which it may raise,
    be truthy, be falsy or be something other than False; and what it is,
    when known (shape)."""

    __slots__ = ("raise_", "_truthy", "_falsy", "_notfalse", "boolean", "shape", "kind")

    def __init__(self, raise_=TRUE, truthy=TRUE, falsy=TRUE, notfalse=TRUE, boolean=False, shape=None, kind=None):
        self.raise_ = raise_
        self._truthy = truthy
        self._falsy = falsy
        self._notfalse = notfalse
        self.boolean = boolean
        self.shape = shape
        self.kind = kind

    @property
    def truthy(self):
        return self._truthy

    @property
    def falsy(self):
        return self._falsy

    @property
    def notfalse(self):
        return self._notfalse


def UNKNOWN():
    return AV()


def CONST(value):
    t = bool(value)
    return AV(raise_=FALSE, truthy=TRUE if t else FALSE, falsy=FALSE if t else TRUE,
              notfalse=FALSE if value is False else TRUE, boolean=isinstance(value, bool), shape=("const", value))


def SAFE_UNKNOWN(raise_, boolean=False):
    """A value we know nothing about whose computation raises only under raise_."""
    return AV(raise_=raise_, boolean=boolean)


def _scalar(v):
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    return v is None or isinstance(v, (bool, int))


def _default_ok(v):
    return _scalar(v) or (isinstance(v, (dict, list, tuple)) and len(v) == 0)


def _classes(lk):
    return ((MISSING, lk.miss), (NULL, lk.null))


def _apply(c, fn):
    if c is RAISE:
        return RAISE
    try:
        return fn(c)
    except Exception:  # noqa: BLE001 - the rule would raise here too
        return RAISE


def lookup_av(lk):
    """The abstract value of a lookup used as a value (truthiness, return)."""
    path, xf = lk.path, lk.xform
    ok_types = [t for t in PRESENT if t not in lk.rtypes]
    a = _atom("truthy", path, xf)
    truthy, falsy, notfalse, raise_ = [a], [AND(TYPE(path, ok_types), NOT(a))], [], [lk.raise_]
    if xf:  # a string now: never the False singleton
        notfalse.append(TYPE(path, ok_types))
    else:
        notfalse.append(TYPE(path, [t for t in ok_types if t != BOOL]))
        if BOOL in ok_types:
            notfalse.append(AND(TYPE(path, [BOOL]), a))
    for cls, c in _classes(lk):
        if c is RAISE:
            raise_.append(TYPE(path, [cls]))
            continue
        try:
            t = bool(c)
        except Exception:  # noqa: BLE001
            return UNKNOWN()
        (truthy if t else falsy).append(TYPE(path, [cls]))
        if c is not False:
            notfalse.append(TYPE(path, [cls]))
    return AV(raise_=OR(*raise_), truthy=OR(*truthy), falsy=OR(*falsy), notfalse=OR(*notfalse), shape=("lookup", lk))


def bool_av(lk, const_fn, atom, op_rtypes=()):
    """A bool-valued operation on a lookup: atom decides present values
    (exactly; false where the operation raises), const_fn the missing/null
    values, op_rtypes are present types where the operation raises."""
    path = lk.path
    rtypes = set(lk.rtypes) | set(op_rtypes)
    ok_types = [t for t in PRESENT if t not in rtypes]
    truthy, falsy, raise_ = [atom], [], [lk.raise_, TYPE(path, set(op_rtypes) - set(lk.rtypes))]
    false_classes = []
    for cls, c in _classes(lk):
        r = _apply(c, const_fn)
        if r is RAISE:
            raise_.append(TYPE(path, [cls]))
        elif not isinstance(r, bool):
            return None
        elif r:
            truthy.append(TYPE(path, [cls]))
        else:
            false_classes.append(cls)
    if len(false_classes) == 2 and len(ok_types) == len(PRESENT):
        falsy.append(NOT(atom))  # atoms are false on missing and null
    else:
        falsy += [AND(TYPE(path, ok_types), NOT(atom)), TYPE(path, false_classes)]
    t = OR(*truthy)
    return AV(raise_=OR(*raise_), truthy=t, falsy=OR(*falsy), notfalse=t, boolean=True)


def not_av(av):
    return AV(raise_=av.raise_, truthy=av.falsy, falsy=av.truthy, notfalse=av.falsy, boolean=True)


def and_av(a, b):
    raise_ = OR(a.raise_, AND(a.truthy, b.raise_))
    truthy = AND(a.truthy, b.truthy)
    falsy = OR(a.falsy, AND(a.truthy, b.falsy))
    # when a is falsy the result is a: not False unless a is a bool
    nf_a = FALSE if a.boolean else AND(a.falsy, a.notfalse)
    notfalse = OR(nf_a, AND(a.truthy, b.notfalse))
    return AV(raise_=raise_, truthy=truthy, falsy=falsy, notfalse=notfalse, boolean=a.boolean and b.boolean)


def or_av(a, b):
    raise_ = OR(a.raise_, AND(a.falsy, b.raise_))
    truthy = OR(a.truthy, AND(a.falsy, b.truthy))
    falsy = AND(a.falsy, b.falsy)
    notfalse = OR(a.truthy, AND(a.falsy, b.notfalse))
    return AV(raise_=raise_, truthy=truthy, falsy=falsy, notfalse=notfalse, boolean=a.boolean and b.boolean)


def ifexp_av(t, x, y):
    return AV(raise_=OR(t.raise_, AND(t.truthy, x.raise_), AND(t.falsy, y.raise_)),
              truthy=OR(AND(t.truthy, x.truthy), AND(t.falsy, y.truthy)),
              falsy=OR(AND(t.truthy, x.falsy), AND(t.falsy, y.falsy)),
              notfalse=OR(AND(t.truthy, x.notfalse), AND(t.falsy, y.notfalse)),
              boolean=x.boolean and y.boolean)


def materialize(av):
    """Conditions of an AV whose shape is a lookup are computed on demand."""
    if av.shape is not None and av.shape[0] == "lookup" and av.kind is None:
        out = lookup_av(av.shape[1])
        out.raise_ = OR(av.raise_, out.raise_)  # e.g. a helper that raised before returning the value
        out.kind = "materialized"
        return out
    return av


# ---------------------------------------------------------------- module context


class Unsupported(Exception):
    """The construct cannot be analysed: its branch gets no constraint."""


class Budget(Exception):
    pass


_SOURCES = {}


def _module_info(filename):
    """Parsed source of a file and, per name, how often it is bound and
    whether every use is read-only, cached."""
    info = _SOURCES.get(filename)
    if info is not None:
        return info
    with open(filename, "rb") as f:
        source = f.read()
    tree = ast.parse(source, filename)
    binds, unsafe = {}, set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.append(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.append((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for n in node.names:
                binds[n] = binds.get(n, 0) + 2
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.append(node.name)
        elif isinstance(node, ast.arg):
            names.append(node.arg)
        elif _MATCH_NAMES and isinstance(node, _MATCH_NAMES) and node.name:
            names.append(node.name)
        elif _MATCH_MAPPING and isinstance(node, _MATCH_MAPPING) and node.rest:
            names.append(node.rest)
        for n in names:
            binds[n] = binds.get(n, 0) + 1
    # Read-only uses of a mutable container: right of in/not in, for iterables.
    safe_ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators):
                if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, ast.Name):
                    safe_ids.add(id(right))
        elif isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.iter, ast.Name):
            safe_ids.add(id(node.iter))
    dynamic = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and id(node) not in safe_ids:
            unsafe.add(node.id)
            dynamic = dynamic or node.id in _DYNAMIC
        elif isinstance(node, ast.Attribute) and node.attr in _DYNAMIC:
            dynamic = True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            dynamic = dynamic or any(a.name.split(".")[0] in _DYNAMIC for a in node.names)
    if dynamic:
        binds = {}  # no module-level name is trusted
    assigned = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            assigned.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            assigned.add(stmt.target.id)
    code = compile(source, filename, "exec", dont_inherit=True)
    info = (tree, binds, unsafe, assigned, code)
    _SOURCES[filename] = info
    return info


def _find_code(code, name, firstlineno):
    if code.co_name == name and code.co_firstlineno == firstlineno:
        return code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            found = _find_code(c, name, firstlineno)
            if found is not None:
                return found
    return None


def _same_code(a, b):
    if a.co_code != b.co_code or a.co_names != b.co_names or a.co_varnames != b.co_varnames:
        return False
    ca = [c for c in a.co_consts if not isinstance(c, types.CodeType)]
    cb = [c for c in b.co_consts if not isinstance(c, types.CodeType)]
    return len(ca) == len(cb) and all(type(x) is type(y) and x == y for x, y in zip(ca, cb))


def _function_def(fn):
    """The ast.FunctionDef of a plain function, checked against its code."""
    if not isinstance(fn, types.FunctionType) or fn.__closure__ or fn.__code__.co_freevars:
        raise Unsupported("not a plain function")
    code = fn.__code__
    try:
        tree, binds, unsafe, assigned, module_code = _module_info(code.co_filename)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError) as exc:
        raise Unsupported("source not readable") from exc
    compiled = _find_code(module_code, code.co_name, code.co_firstlineno)
    if compiled is None or not _same_code(compiled, code):
        raise Unsupported("source does not match the running code")
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == code.co_name and node.lineno == code.co_firstlineno:
            if node.decorator_list:
                raise Unsupported("decorated")
            return node, (binds, unsafe, assigned)
    raise Unsupported("definition not found")


def _locals_of(fdef):
    names = set()
    for node in ast.walk(fdef):
        if node is fdef:
            continue
        if isinstance(node, (ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.ClassDef,
                             ast.Yield, ast.YieldFrom, ast.Await)):
            raise Unsupported("scope or generator")
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif _MATCH_NAMES and isinstance(node, _MATCH_NAMES) and node.name:
            names.add(node.name)
    for a in fdef.args.posonlyargs + fdef.args.args + fdef.args.kwonlyargs:
        names.add(a.arg)
    return names


class Frame:
    def __init__(self, fn, fdef, module, depth):
        self.fn = fn
        self.fdef = fdef
        self.globals = fn.__globals__
        self.binds, self.unsafe, self.assigned = module
        self.depth = depth
        self.locals = _locals_of(fdef)


def _immutable_scalars(v):
    return isinstance(v, (tuple, frozenset)) and all(_scalar(x) for x in v)


def _container(av):
    """Whether av is a builtin list, tuple, dict or set: truthy exactly
    when non-empty, and `in` compares with its members or keys."""
    shape = av.shape
    if shape is None:
        return False
    return shape[0] in ("coll", "container") or (shape[0] == "const" and type(shape[1]) in (list, tuple, dict))


def _empty_iterable(av):
    """Whether iterating av yields nothing and cannot raise."""
    if av.raise_ != FALSE or av.shape is None:
        return False
    kind = av.shape[0]
    if kind == "const":
        return type(av.shape[1]) in (list, tuple, dict) and not av.shape[1]
    if kind == "coll":
        return not av.shape[1].values
    return kind == "empty"


# ---------------------------------------------------------------- analyser


class Outcome:
    __slots__ = ("returns", "raise_")

    def __init__(self, returns, raise_):
        self.returns = returns  # [(path condition, AV)]
        self.raise_ = raise_


def UNCONSTRAINED():
    """The outcome of a path through a statement the analyser does not
    follow: it may raise, so the path is unconstrained; the function's
    other paths keep their conditions and return values."""
    return Outcome([], TRUE)


class Analyser:
    def __init__(self):
        self.steps = 0

    def tick(self):
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Budget()

    # ---- entry points
    def rule_condition(self, fn):
        """The necessary condition for fn(event) not returning False."""
        out = self.call(fn, [AV(raise_=FALSE, truthy=TRUE, falsy=TRUE, notfalse=TRUE, shape=(EVENT,))], {}, 0)
        terms = [out.raise_]
        for pc, av in out.returns:
            terms.append(AND(pc, av.notfalse))
        return OR(*terms)

    def call(self, fn, args, kwargs, depth):
        if depth >= MAX_DEPTH:
            raise Unsupported("too deep")
        fdef, module = _function_def(fn)
        frame = Frame(fn, fdef, module, depth)
        a = fdef.args
        if a.vararg or a.kwarg:
            raise Unsupported("varargs")
        positional = a.posonlyargs + a.args
        if len(args) > len(positional):
            raise Unsupported("too many arguments")
        env = {}
        defaults = fn.__defaults__ or ()
        first_default = len(positional) - len(defaults)
        for i, p in enumerate(positional):
            if i < len(args):
                if p.arg in kwargs:
                    raise Unsupported("argument given twice")
                env[p.arg] = args[i]
            elif p.arg in kwargs and i >= len(a.posonlyargs):
                env[p.arg] = kwargs[p.arg]
            elif i >= first_default:
                env[p.arg] = self.default_av(defaults[i - first_default])
            else:
                raise Unsupported("missing argument")
        kwdefaults = fn.__kwdefaults__ or {}
        for p in a.kwonlyargs:
            if p.arg in kwargs:
                env[p.arg] = kwargs[p.arg]
            elif p.arg in kwdefaults:
                env[p.arg] = self.default_av(kwdefaults[p.arg])
            else:
                raise Unsupported("missing keyword argument")
        known = {p.arg for p in positional + a.kwonlyargs}
        if any(k not in known for k in kwargs):
            raise Unsupported("unknown keyword")
        return self.block(frame, fdef.body, 0, env)

    def default_av(self, v):
        if _scalar(v):
            return CONST(v)
        if _immutable_scalars(v):
            return AV(raise_=FALSE, truthy=TRUE if v else FALSE, falsy=FALSE if v else TRUE, notfalse=TRUE, shape=("coll", Coll(v)))
        return UNKNOWN()

    # ---- statements
    def block(self, frame, stmts, i, env):
        while i < len(stmts):
            self.tick()
            s = stmts[i]
            if isinstance(s, ast.Return):
                av = self.expr(frame, s.value, env) if s.value is not None else CONST(None)
                av = materialize(av)
                return Outcome([(TRUE, av)], av.raise_)
            if isinstance(s, ast.Pass):
                i += 1
                continue
            if isinstance(s, ast.Expr):
                if isinstance(s.value, ast.Constant):
                    i += 1
                    continue
                av = self.expr(frame, s.value, env)
                rest = self.block(frame, stmts, i + 1, env)
                return Outcome(rest.returns, OR(av.raise_, rest.raise_))
            if isinstance(s, (ast.Assign, ast.AnnAssign)):
                targets = s.targets if isinstance(s, ast.Assign) else [s.target]
                if s.value is None or not all(isinstance(t, ast.Name) for t in targets):
                    return UNCONSTRAINED()
                if isinstance(s.value, ast.IfExp):
                    # x = a if c else b runs as: if c: x = a / else: x = b.
                    v = s.value
                    split = ast.If(test=v.test, body=[ast.Assign(targets=targets, value=v.body)],
                                   orelse=[ast.Assign(targets=targets, value=v.orelse)])
                    return self.block(frame, [split] + stmts[i + 1:], 0, env)
                av = self.expr(frame, s.value, env)
                env2 = dict(env)
                for t in targets:
                    env2[t.id] = av
                rest = self.block(frame, stmts, i + 1, env2)
                return Outcome(rest.returns, OR(av.raise_, rest.raise_))
            if isinstance(s, ast.If):
                t = materialize(self.expr(frame, s.test, env))
                rest = stmts[i + 1:]
                yes = self.block(frame, list(s.body) + rest, 0, env) if t.truthy != FALSE else Outcome([], FALSE)
                no = self.block(frame, list(s.orelse) + rest, 0, env) if t.falsy != FALSE else Outcome([], FALSE)
                returns = [(AND(t.truthy, pc), av) for pc, av in yes.returns]
                returns += [(AND(t.falsy, pc), av) for pc, av in no.returns]
                return Outcome(returns, OR(t.raise_, AND(t.truthy, yes.raise_), AND(t.falsy, no.raise_)))
            if isinstance(s, ast.Assert):
                # Sound with and without -O: a failed assert raises, or is skipped.
                t = materialize(self.expr(frame, s.test, env))
                rest = self.block(frame, stmts, i + 1, env)
                return Outcome(rest.returns, OR(t.raise_, t.falsy, rest.raise_))
            if isinstance(s, ast.For) and _empty_iterable(self.expr(frame, s.iter, env)):
                # The body never runs; the else clause does.
                return self.block(frame, list(s.orelse) + stmts[i + 1:], 0, env)
            return UNCONSTRAINED()
        return Outcome([(TRUE, CONST(None))], FALSE)

    # ---- names
    def name(self, frame, ident, env):
        if ident in env:
            return env[ident]
        if ident in frame.locals:
            return UNKNOWN()  # local not (yet) bound on this path
        g = frame.globals
        if ident in g:
            if frame.binds.get(ident, 0) != 1:  # bound more than once, or the module is dynamic
                return UNKNOWN()
            return self.global_value(frame, ident, g[ident])
        b = g.get("__builtins__", builtins)
        bd = b if isinstance(b, dict) else getattr(b, "__dict__", {})
        if ident in bd:
            return self.global_value(frame, ident, bd[ident], builtin=True)
        return UNKNOWN()

    def global_value(self, frame, ident, v, builtin=False):
        if v is _DEEP_GET:
            return AV(raise_=FALSE, shape=(DEEP_GET,))
        if v is _BOOL or v is _STR or v is _ISINSTANCE or v is _HASATTR:
            return AV(raise_=FALSE, shape=(BUILTIN, v))
        if builtin:
            return UNKNOWN()
        if isinstance(v, types.FunctionType):
            return AV(raise_=FALSE, shape=("func", Func(v)))
        if _scalar(v):
            return CONST(v)
        if _immutable_scalars(v):
            return AV(raise_=FALSE, truthy=TRUE if v else FALSE, falsy=FALSE if v else TRUE, notfalse=TRUE,
                      shape=("coll", Coll(v)))
        # A list or set is trusted only when this module builds it and never
        # uses it but with in / not in or as a loop iterable.
        if ident in frame.assigned and isinstance(v, (list, set)) and all(_scalar(x) for x in v) and ident not in frame.unsafe:
            return AV(raise_=FALSE, truthy=TRUE if v else FALSE, falsy=FALSE if v else TRUE, notfalse=TRUE,
                      shape=("coll", Coll(tuple(v) if isinstance(v, list) else frozenset(v))))
        return UNKNOWN()

    # ---- expressions
    def expr(self, frame, node, env):
        self.tick()
        try:
            return self._expr(frame, node, env)
        except Unsupported:
            return UNKNOWN()

    def _expr(self, frame, node, env):
        if isinstance(node, ast.Constant):
            if _scalar(node.value):
                return CONST(node.value)
            return UNKNOWN()
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            values = []
            for e in node.elts:
                if not isinstance(e, ast.Constant) or not _scalar(e.value):
                    return UNKNOWN()
                values.append(e.value)
            if isinstance(node, ast.Set):
                try:
                    coll = frozenset(values)
                except TypeError:
                    return UNKNOWN()
            else:
                coll = tuple(values)
            return AV(raise_=FALSE, truthy=TRUE if values else FALSE, falsy=FALSE if values else TRUE,
                      notfalse=TRUE, shape=("coll", Coll(coll)))
        if isinstance(node, ast.Dict):
            if not node.keys:
                return AV(raise_=FALSE, truthy=FALSE, falsy=TRUE, notfalse=TRUE, shape=("const", {}))
            return UNKNOWN()
        if isinstance(node, ast.Name):
            return self.name(frame, node.id, env)
        if isinstance(node, ast.BoolOp):
            avs = [materialize(self.expr(frame, v, env)) for v in node.values]
            acc = avs[0]
            for nxt in avs[1:]:
                acc = and_av(acc, nxt) if isinstance(node.op, ast.And) else or_av(acc, nxt)
            return acc
        if isinstance(node, ast.UnaryOp):
            av = materialize(self.expr(frame, node.operand, env))
            if isinstance(node.op, ast.Not):
                return not_av(av)
            if av.shape is not None and av.shape[0] == "const" and isinstance(node.op, (ast.USub, ast.UAdd)):
                v = av.shape[1]
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    return CONST(-v if isinstance(node.op, ast.USub) else v)
            return UNKNOWN()
        if isinstance(node, ast.IfExp):
            t = materialize(self.expr(frame, node.test, env))
            x = materialize(self.expr(frame, node.body, env))
            y = materialize(self.expr(frame, node.orelse, env))
            return ifexp_av(t, x, y)
        if isinstance(node, ast.Compare):
            return self.compare(frame, node, env)
        if isinstance(node, ast.Call):
            return self.call_expr(frame, node, env)
        if isinstance(node, ast.Subscript):
            base = self.expr(frame, node.value, env)
            key = self.expr(frame, node.slice, env)
            k = _const_of(key)
            if k is None or not isinstance(k[0], str):
                return UNKNOWN()
            k = k[0]
            if base.shape == (EVENT,):
                return lookup_value(Lookup((k,), RAISE, None, raise_=OR(base.raise_, key.raise_)))
            lk = _lookup_of(base)
            if lk is not None:
                out = self.chain(lk, k, subscript=True)
                out.raise_ = OR(base.raise_, key.raise_, out.raise_)
                return out
            return UNKNOWN()
        return UNKNOWN()

    def chain(self, lk, key, subscript, default=None, kw=False):
        """lk[key] or lk.get(key[, default]) on a looked-up value."""
        if lk.xform:
            return UNKNOWN()
        path = lk.path
        # Present non-objects have neither [] by key nor .get.
        raise_ = [lk.raise_, TYPE(path, [t for t in (STRING, NUMBER, BOOL, ARRAY) if t not in lk.rtypes])]
        if subscript:
            fn = lambda c: c[key]  # noqa: E731
            miss = RAISE
        else:
            fn = (lambda c: c.get(key, default=default)) if kw else (lambda c: c.get(key, default))  # noqa: E731
            miss = default
        for cls, c in _classes(lk):
            r = _apply(c, fn)
            if r is RAISE:
                raise_.append(TYPE(path, [cls]))
            elif not (type(r) is type(miss) and r == miss):
                return UNKNOWN()  # the missing class would not be uniform
        return lookup_value(Lookup(path + (key,), miss, None, raise_=OR(*raise_)))

    def compare(self, frame, node, env):
        if len(node.ops) != 1:
            return UNKNOWN()
        op = node.ops[0]
        left = self.expr(frame, node.left, env)
        right = self.expr(frame, node.comparators[0], env)
        operand_raise = OR(left.raise_, right.raise_)
        out = self._compare(op, left, right)
        if out is None:
            known = all(s.shape is not None and s.shape[0] in ("const", "lookup", "coll", EVENT) for s in (left, right))
            if known and isinstance(op, (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)):
                return SAFE_UNKNOWN(operand_raise, boolean=True)
            return UNKNOWN()
        out.raise_ = OR(operand_raise, out.raise_)
        return out

    def _compare(self, op, left, right):
        lc, rc = _const_of(left), _const_of(right)
        llk, rlk = _lookup_of(left), _lookup_of(right)
        if lc is not None and rc is not None:
            try:
                return CONST(bool(_py_compare(op, lc[0], rc[0])))
            except Exception:  # noqa: BLE001
                return None
        if isinstance(op, (ast.Eq, ast.NotEq)):
            lk, c = (llk, rc) if llk is not None else (rlk, lc)
            if lk is None or c is None or not _scalar(c[0]):
                return None
            av = eq_av(lk, c[0])
            return not_av(av) if isinstance(op, ast.NotEq) else av
        if isinstance(op, (ast.Is, ast.IsNot)):
            lk, c = (llk, rc) if llk is not None else (rlk, lc)
            if lk is None or c is None or not (c[0] is None or c[0] is True or c[0] is False):
                return None
            av = is_av(lk, c[0])
            return not_av(av) if isinstance(op, ast.IsNot) else av
        if isinstance(op, (ast.In, ast.NotIn)):
            av = None
            if llk is not None and right.shape is not None and right.shape[0] == "coll":
                av = in_av(llk, right.shape[1].value)
            elif llk is not None and rc is not None and isinstance(rc[0], (dict, list, tuple)):
                av = in_av(llk, rc[0])
            elif lc is not None and rlk is not None and _scalar(lc[0]):
                av = contains_av(rlk, lc[0])
            elif lc is not None and _scalar(lc[0]) and right.shape is not None and right.shape[0] == "coll":
                av = CONST(lc[0] in right.shape[1].value)
            elif lc is not None and _scalar(lc[0]) and right.shape == ("container",):
                # Members are compared only when there are some; comparing may raise.
                av = AV(raise_=right.truthy, truthy=right.truthy, falsy=TRUE, notfalse=right.truthy, boolean=True)
            elif lc is not None and right.shape == (EVENT,) and isinstance(lc[0], str):
                av = AV(raise_=FALSE, truthy=TYPE((lc[0],), [t for t in ALL_TYPES if t != MISSING]),
                        falsy=TYPE((lc[0],), [MISSING]), boolean=True)
                av._notfalse = av.truthy
            if av is None:
                return None
            return not_av(av) if isinstance(op, ast.NotIn) else av
        return None

    def call_expr(self, frame, node, env):
        func = node.func
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            return UNKNOWN()
        if isinstance(func, ast.Attribute):
            base = self.expr(frame, func.value, env)
            args = [self.expr(frame, a, env) for a in node.args]
            kwargs = {k.arg: self.expr(frame, k.value, env) for k in node.keywords}
            raise_ = OR(base.raise_, *[a.raise_ for a in args], *[v.raise_ for v in kwargs.values()])
            out = self.method(base, func.attr, args, kwargs)
            if out is None:
                return UNKNOWN()
            out.raise_ = OR(raise_, out.raise_)
            return out
        callee = self.expr(frame, func, env)
        args = [self.expr(frame, a, env) for a in node.args]
        kwargs = {k.arg: self.expr(frame, k.value, env) for k in node.keywords}
        raise_ = OR(callee.raise_, *[a.raise_ for a in args], *[v.raise_ for v in kwargs.values()])
        shape = callee.shape
        out = None
        if shape is None:
            return UNKNOWN()
        if shape[0] == DEEP_GET:
            if args and args[0].shape == (EVENT,):
                out = self.deep_get(args[1:], kwargs)
        elif shape[0] == BUILTIN:
            out = self.builtin(shape[1], args, kwargs)
        elif shape[0] == "func":
            out = self.inline(frame, shape[1].fn, args, kwargs)
        if out is None:
            return UNKNOWN()
        out.raise_ = OR(raise_, out.raise_)
        return out

    def deep_get(self, keys, kwargs):
        if set(kwargs) - {"default"} or not keys:
            return None
        path = []
        for k in keys:
            c = _const_of(k)
            if c is None or not isinstance(c[0], str):
                return None
            path.append(c[0])
        default = None
        if "default" in kwargs:
            c = _const_of(kwargs["default"])
            if c is None or not _default_ok(c[0]):
                return None
            default = c[0]
        return lookup_value(Lookup(path, default, default))

    def method(self, base, attr, args, kwargs):
        if base.shape == (EVENT,):
            if attr == "get":
                parsed = _get_args(args, kwargs)
                if parsed is None:
                    return None
                key, default = parsed
                return lookup_value(Lookup((key,), default, None))
            if attr == "deep_get":
                return self.deep_get(args, kwargs)
            return None
        lk = _lookup_of(base)
        if lk is not None:
            if attr == "get" and not lk.xform:
                parsed = _get_args(args, kwargs)
                if parsed is None:
                    return None
                key, default = parsed
                return self.chain(lk, key, subscript=False, default=default, kw="default" in kwargs)
            if attr in ("lower", "upper") and not args and not kwargs:
                return lookup_value(transform(lk, attr))
            if attr in ("startswith", "endswith") and len(args) == 1 and not kwargs:
                c = _const_of(args[0])
                if c is None:
                    if args[0].shape is not None and args[0].shape[0] == "coll":
                        c = (args[0].shape[1].value,)
                    else:
                        return None
                v = c[0]
                if isinstance(v, str):
                    values = [v]
                elif isinstance(v, tuple) and all(isinstance(x, str) and _scalar(x) for x in v):
                    values = list(v)
                else:
                    return None
                atoms = [_atom(attr, lk.path, lk.xform, value=x) for x in values]
                # Only strings have startswith; a transform made the value a string already.
                rt = [] if lk.xform else [NUMBER, BOOL, OBJECT, ARRAY]
                return bool_av(lk, lambda c: getattr(c, attr)(v), OR(*atoms), rt)
            return None
        c = _const_of(base)
        if c is not None and isinstance(c[0], str) and attr in ("lower", "upper", "strip") and not args and not kwargs:
            return CONST(getattr(c[0], attr)())
        if c is not None and type(c[0]) is dict and not c[0] and attr in ("items", "keys", "values") and not args and not kwargs:
            return AV(raise_=FALSE, truthy=FALSE, falsy=TRUE, notfalse=TRUE, shape=("empty",))  # an empty view
        return None

    def builtin(self, fn, args, kwargs):
        if kwargs:
            return None
        if fn is _BOOL and len(args) == 1:
            a = materialize(args[0])
            return AV(raise_=a.raise_, truthy=a.truthy, falsy=a.falsy, notfalse=a.truthy, boolean=True)
        if fn is _STR and len(args) == 1:
            c = _const_of(args[0])
            if c is not None:
                return CONST(str(c[0]))
            lk = _lookup_of(args[0])
            if lk is not None and not lk.xform:
                return lookup_value(transform(lk, "str"))
            return None
        if fn is _ISINSTANCE and len(args) == 2:
            lk = _lookup_of(args[0])
            t = args[1].shape
            if lk is None or lk.xform or t is None or t[0] != BUILTIN:
                return None
            if t[1] is _STR:
                types_ = [STRING]
            elif t[1] is _BOOL:
                types_ = [BOOL]
            else:
                return None
            cls = t[1]
            atom = TYPE(lk.path, types_)
            return bool_av(lk, lambda c: isinstance(c, cls), atom)
        if fn is _HASATTR and len(args) == 2:
            obj, name = _const_of(args[0]), _const_of(args[1])
            if obj is None or name is None or not isinstance(name[0], str):
                return None
            return CONST(hasattr(obj[0], name[0]))
        return None

    def inline(self, frame, fn, args, kwargs):
        out = self.call(fn, args, kwargs, frame.depth + 1)
        returns = out.returns
        if not returns:
            return AV(raise_=out.raise_, truthy=FALSE, falsy=FALSE, notfalse=FALSE, boolean=True)
        mats = [(pc, materialize(av)) for pc, av in returns]
        av = AV(raise_=OR(out.raise_, *[AND(pc, a.raise_) for pc, a in mats]),
                truthy=OR(*[AND(pc, a.truthy) for pc, a in mats]),
                falsy=OR(*[AND(pc, a.falsy) for pc, a in mats]),
                notfalse=OR(*[AND(pc, a.notfalse) for pc, a in mats]),
                boolean=all(a.boolean for _, a in mats))
        if len(returns) == 1 and returns[0][0] == TRUE and returns[0][1].shape is not None:
            av.shape = returns[0][1].shape
            if av.shape[0] == "lookup":
                av.kind = "materialized"
        elif all(_container(a) for _, a in returns):
            av.shape = ("container",)
        return av


def _py_compare(op, a, b):
    if isinstance(op, ast.Eq):
        return a == b
    if isinstance(op, ast.NotEq):
        return a != b
    if isinstance(op, ast.Is):
        return a is b
    if isinstance(op, ast.IsNot):
        return a is not b
    if isinstance(op, ast.In):
        return a in b
    if isinstance(op, ast.NotIn):
        return a not in b
    raise Unsupported("ordering")


def _const_of(av):
    if av.shape is not None and av.shape[0] == "const":
        return (av.shape[1],)
    return None


def _lookup_of(av):
    if av.shape is not None and av.shape[0] == "lookup":
        return av.shape[1]
    return None


def lookup_value(lk):
    """An AV standing for a looked-up value; its conditions are computed when
    used. Reading it raises where lk.raise_ holds or a class value is RAISE."""
    raise_ = [lk.raise_] + [TYPE(lk.path, [cls]) for cls, c in _classes(lk) if c is RAISE]
    return AV(raise_=OR(*raise_), shape=("lookup", lk))


def transform(lk, how):
    xf = lk.xform + (how,)
    if xf not in TRANSFORMS:
        raise Unsupported("transform")
    if how == "str":
        fn = str
        rt = set()
    else:
        fn = getattr(str, how)
        rt = {NUMBER, BOOL, OBJECT, ARRAY} if not lk.xform else set()
    return Lookup(lk.path, _apply(lk.miss, fn), _apply(lk.null, fn),
                  raise_=OR(lk.raise_, TYPE(lk.path, rt - set(lk.rtypes))), xform=xf, rtypes=set(lk.rtypes) | rt)


def eq_av(lk, c):
    if c is None or lk.xform and not isinstance(c, str):
        atom = FALSE
    else:
        atom = _atom("eq", lk.path, lk.xform, value=c)
    out = bool_av(lk, lambda v: v == c, atom)
    if out is None:
        raise Unsupported("eq")
    return out


def is_av(lk, c):
    if lk.xform:
        atom = FALSE
    elif c is None:
        atom = FALSE
    else:
        atom = AND(TYPE(lk.path, [BOOL]), _atom("eq", lk.path, (), value=c))
    out = bool_av(lk, lambda v: v is c, atom)
    if out is None:
        raise Unsupported("is")
    return out


def in_av(lk, coll):
    values = list(coll.keys()) if isinstance(coll, dict) else list(coll)
    if not all(_scalar(v) for v in values):
        raise Unsupported("in")
    usable = [v for v in values if v is not None and (not lk.xform or isinstance(v, str))]
    atom = _atom("in", lk.path, lk.xform, values=usable) if usable else FALSE
    # Hashing a wrapped value for a set never raises (the wrappers hash their JSON).
    out = bool_av(lk, lambda v: v in coll, atom)
    if out is None:
        raise Unsupported("in")
    return out


def contains_av(lk, c):
    """c in lk: substring of a string (the needle must be a string), member of
    an array, key of an object (case-insensitive); numbers and bools raise."""
    if lk.xform:  # the value is a string now (or computing it raised)
        if isinstance(c, str):
            atom, rt = _atom("contains", lk.path, lk.xform, value=c), []
        else:
            atom, rt = FALSE, list(PRESENT)
    else:
        atom = _atom("contains", lk.path, (), value=c)
        rt = [NUMBER, BOOL] + ([] if isinstance(c, str) else [STRING])
    out = bool_av(lk, lambda v: c in v, atom, rt)
    if out is None:
        raise Unsupported("contains")
    return out


# ---------------------------------------------------------------- public API


def analyse(fn):
    """The prefilter of one rule function: a JSON-able condition dict."""
    try:
        cond = minimise(Analyser().rule_condition(fn))
    except (Unsupported, Budget, RecursionError, SyntaxError, OSError, ValueError):
        return TRUE
    except Exception:  # noqa: BLE001 - an analyser bug must only cost speed
        return TRUE
    if len(_ckey(cond)) > MAX_COND_BYTES:
        return TRUE
    return cond


def analyse_detections(detections):
    """Prefilters for a worker's detections: {index: condition} for every
    loaded rule (kind "rule"); others get none."""
    _SOURCES.clear()  # files may have changed since the last load
    out = {}
    for index, d in enumerate(detections):
        if d is None or d.kind != "rule":
            continue
        out[str(index)] = analyse(d.matcher)
    return out


# ---------------------------------------------------------------- reference evaluator


_MISSING = object()


def resolve(raw, path):
    """The value at path with the event object's key semantics, or _MISSING."""
    value = raw
    for key in path:
        if not isinstance(value, dict):
            return _MISSING
        k = prowl_event.ImmutableCaseInsensitiveDict(value)._key(key)
        if k not in value:
            return _MISSING
        value = value[k]
    return value


def type_of(v):
    if v is _MISSING:
        return MISSING
    if v is None:
        return NULL
    if isinstance(v, bool):
        return BOOL
    if isinstance(v, (int, float)):
        return NUMBER
    if isinstance(v, str):
        return STRING
    if isinstance(v, dict):
        return OBJECT
    return ARRAY


class _Raises(Exception):
    pass


def _transformed(v, xform):
    for how in xform:
        if how == "str":
            v = str(prowl_event._wrap(v))
        else:
            if not isinstance(v, str):
                raise _Raises()
            v = getattr(v, how)()
    return v


def holds(cond, atom_holds):
    """Whether cond holds, its atoms decided by atom_holds(atom)."""
    op = cond["op"]
    if op == "and":
        return all(holds(c, atom_holds) for c in cond["args"])
    if op == "or":
        return any(holds(c, atom_holds) for c in cond["args"])
    if op == "not":
        return not holds(cond["args"][0], atom_holds)
    if op in ("true", "false"):
        return op == "true"
    return atom_holds(cond)


def evaluate(cond, raw):
    """Reference semantics of a condition on a decoded event (Python's)."""
    return holds(cond, lambda atom: _atom_holds(atom, raw))


def _atom_holds(cond, raw):
    op = cond["op"]
    v = resolve(raw, cond["path"])
    t = type_of(v)
    if op == "type":
        return t in (cond.get("types") or ())
    if t in (MISSING, NULL):
        return op == "ne"
    try:
        v = _transformed(v, cond.get("transform") or ())
    except _Raises:
        return op == "ne"
    wrapped = prowl_event._wrap(v)
    if op == "eq":
        return wrapped == cond["value"]
    if op == "ne":
        return not wrapped == cond["value"]
    if op == "in":
        return any(wrapped == x for x in (cond.get("values") or ()))
    if op in ("startswith", "endswith"):
        return isinstance(v, str) and getattr(v, op)(cond["value"])
    if op == "contains":
        try:
            return cond["value"] in wrapped
        except TypeError:
            return False
    if op == "truthy":
        return bool(wrapped)
    raise ValueError(f"unknown op {op!r}")
