"""prowl's CPython detection worker.

Protocol (version 1): requests are frames of a 4-byte little-endian length and
a UTF-8 JSON body, read from fd PROWL_IN. Replies, written to fd PROWL_OUT,
are a 4-byte total length, a 4-byte JSON length, the JSON and then raw blobs
that the JSON refers to as [offset, length] (alert contexts travel that way,
so neither side parses them twice). Standard output and
standard error are left to the detections (the Go side drains them), so what
a rule prints can never corrupt the protocol. Before each rule call the worker
records (item, rule) in the progress file so that the Go side can name the
rule when the process dies or hangs.

Requests: {"op": "load", ...} and {"op": "run", ...}; each gets one reply.
"""

import gc
import importlib.abc
import importlib.util
import io
import json
import mmap
import os
import resource
import signal
import struct
import sys
import time
import traceback
from collections.abc import Mapping

PROTOCOL_VERSION = 1
SEQ_MASK = 0x7FFFFFFF  # the progress counter stays a non-negative int32
MAX_GENERATED_FIELD_SIZE = 1000
MAX_DEDUP_STRING_SIZE = 1000
MAX_DESTINATIONS_SIZE = 10
MAX_ALERT_CONTEXT_SIZE = 200 * 1024
TRUNCATED_SUFFIX = "... (truncated)"
SEVERITIES = ("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")
AUX_FUNCTIONS = (
    "title",
    "dedup",
    "alert_context",
    "description",
    "reference",
    "severity",
    "runbook",
    "destinations",
    "unique",
)

import prowl_event  # noqa: E402
import prowl_datamodel  # noqa: E402


class RuleTimeout(BaseException):
    """Raised inside a detection that ran past its time budget."""


class FunctionReturnTypeError(Exception):
    """A detection function returned a value of the wrong type."""


class UnknownDestinationError(Exception):
    """destinations() named a destination that does not exist."""


class _Frames:
    def __init__(self, fd_in, fd_out):
        self._in = os.fdopen(fd_in, "rb", buffering=1 << 16)
        self._out = fd_out

    def read(self):
        head = self._in.read(4)
        if len(head) < 4:
            return None
        (size,) = struct.unpack("<I", head)
        body = self._in.read(size)
        if len(body) < size:
            return None
        # Decoding builds no reference cycles, yet its many containers
        # would trigger collections that rescan the whole request.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return json.loads(body)
        finally:
            if enabled:
                gc.enable()

    def write(self, message, blobs=b""):
        body = json.dumps(message, separators=(",", ":"), default=str).encode("utf-8", "surrogatepass")
        data = struct.pack("<II", 4 + len(body) + len(blobs), len(body)) + body + blobs
        view = memoryview(data)
        while view:
            written = os.write(self._out, view)
            view = view[written:]


class _Progress:
    """Where the worker is: (item, rule, counter), read by Go after a crash or
    hang. The counter moves on every detection call. The slot itself is the
    only copy of the counter, so a loop may keep it in a local and write the
    slot with pack(slot, 0, item, rule, counter) (what mark does)."""

    _layout = struct.Struct("<iii")
    _counter = struct.Struct("<i")

    def __init__(self, fd):
        self.slot = mmap.mmap(fd, 12) if fd >= 0 else bytearray(12)
        self.pack = self._layout.pack_into

    @property
    def seq(self):
        return self._counter.unpack_from(self.slot, 8)[0]

    def mark(self, item, rule):
        self.pack(self.slot, 0, item, rule, (self.seq + 1) & SEQ_MASK)


class _Clock:
    """A soft per-call time limit. An interval timer checks the progress
    counter: when it has not moved for longer than the limit while a call
    runs, the running detection gets a RuleTimeout. Calls pay nothing for it
    beyond the progress mark."""

    def __init__(self, limit, progress):
        self.limit = limit
        self.progress = progress
        self.running = False
        self._seen = -1
        self._since = 0.0
        if limit > 0:
            signal.signal(signal.SIGALRM, self._tick)

    def _tick(self, _signum, _frame):
        now = time.monotonic()
        seq = self.progress.seq
        if seq != self._seen:
            self._seen, self._since = seq, now
            return
        if self.running and now - self._since > self.limit:
            self._since = now
            raise RuleTimeout(f"detection ran longer than {self.limit:g}s")

    def arm(self):
        if self.limit > 0:
            self._seen, self._since = -1, time.monotonic()
            tick = min(0.5, self.limit / 4)
            signal.setitimer(signal.ITIMER_REAL, tick, tick)

    def disarm(self):
        if self.limit > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)


class _GlobalsFinder(importlib.abc.MetaPathFinder):
    """Imports the repository's globals by GlobalID, ahead of built-in modules."""

    def __init__(self):
        self.paths = {}

    def find_spec(self, fullname, path=None, target=None):
        file = self.paths.get(fullname)
        if file is None:
            return None
        return importlib.util.spec_from_file_location(fullname, file)


def _error(exc, path=None):
    """Describe an exception: type, message, the detection's file and line, traceback."""
    tb = exc.__traceback__
    line = 0
    file = ""
    for frame, lineno in traceback.walk_tb(tb):
        if path is None or frame.f_code.co_filename == path:
            file, line = frame.f_code.co_filename, lineno
    if isinstance(exc, SyntaxError) and exc.lineno and not line:
        file, line = exc.filename or "", exc.lineno
    message = str(exc)
    if file:
        message = f"{message}: {os.path.basename(file)}, line {line}"
    return {
        "type": type(exc).__name__,
        "message": message,
        "repr": repr(exc),
        "file": file,
        "line": line,
        "traceback": "".join(traceback.format_exception(type(exc), exc, tb)),
    }


def _truncate(value, limit):
    if len(value) > limit:
        return value[: limit - len(TRUNCATED_SUFFIX)] + TRUNCATED_SUFFIX
    return value


def _json_default(value):
    # Serialising only reads, so the wrapped containers need no copy.
    if isinstance(value, prowl_event.ImmutableCaseInsensitiveDict):
        return value._container
    if isinstance(value, prowl_event.ImmutableList):
        return value._container
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


class Detection:
    """A loaded detection module and its spec defaults."""

    def __init__(self, spec, module):
        self.id = spec["id"]
        self.kind = spec.get("kind", "rule")
        self.path = spec.get("path", "")
        self.spec = spec
        self.module = module
        fn_name = "policy" if self.kind == "policy" else "rule"
        self.matcher = getattr(module, fn_name, None)
        self.alert_value = self.kind != "policy"
        self.no_alert_value = not self.alert_value
        if self.matcher is None and self.kind == "scheduled_rule":
            self.matcher = lambda _event: True
        if not callable(self.matcher):
            raise AttributeError(f"{os.path.basename(self.path)} does not define {fn_name}()")
        self.functions = {name: getattr(module, name) for name in AUX_FUNCTIONS if callable(getattr(module, name, None))}


class Worker:
    def __init__(self, frames, progress):
        self.blobs = bytearray()
        self.frames = frames
        self.progress = progress
        self.detections = []
        self.data_models = {}
        self.finder = _GlobalsFinder()
        sys.meta_path.insert(0, self.finder)
        self.clock = _Clock(0, progress)
        self.available_destinations = None

    # ---- load -------------------------------------------------------------
    def load(self, req):
        self.clock = _Clock(float(req.get("rule_timeout", 0)), self.progress)
        self.available_destinations = req.get("available_destinations")
        for spec in (req.get("globals") or []):
            self.finder.paths[spec["id"]] = spec["path"]
        errors = {}
        for spec in (req.get("data_models") or []):
            try:
                module = self._import(f"prowl_datamodel_{len(self.data_models)}", spec["path"]) if spec.get("path") else None
                model = prowl_datamodel.DataModel(spec["id"], spec.get("mappings") or [], module)
                for log_type in (spec.get("log_types") or []):
                    self.data_models[log_type] = model
            except BaseException as exc:  # noqa: BLE001 - reported to the user
                errors["datamodel:" + spec["id"]] = _error(exc)
        self.detections = []
        skip = set(req.get("skip") or [])
        for index, spec in enumerate((req.get("detections") or [])):
            if index in skip:
                self.detections.append(None)
                continue
            self.progress.mark(-1, index)
            try:
                module = self._import(f"prowl_detection_{index}", spec["path"])
                self.detections.append(Detection(spec, module))
            except BaseException as exc:  # noqa: BLE001 - a rule that fails to import is a rule error
                errors[spec["id"]] = _error(exc, spec.get("path"))
                self.detections.append(None)
        reply = {"op": "loaded", "protocol": PROTOCOL_VERSION, "errors": errors}
        if req.get("prefilters"):
            reply["prefilters"] = _prefilters(self.detections)
        return reply

    def _import(self, name, path):
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        saved = sys.stdout
        sys.stdout = sys.stderr
        self.clock.running = True
        self.clock.arm()
        try:
            spec.loader.exec_module(module)
        finally:
            self.clock.disarm()
            self.clock.running = False
            sys.stdout = saved
        return module

    # ---- run --------------------------------------------------------------
    def run(self, req):
        test_mode = req.get("mode") == "test"
        self.blobs = bytearray()
        out = []
        saved = sys.stdout
        if not test_mode:
            sys.stdout = sys.stderr  # what rules print in production goes to the worker log
        self.clock.arm()
        self.clock.running = True
        try:
            if test_mode:
                for item_index, item in enumerate(req["items"]):
                    out.append(self._run_item(item_index, item))
            else:
                self._run_batch(req["items"], out)
        finally:
            self.clock.running = False
            self.clock.disarm()
            sys.stdout = saved
        return {"op": "results", "items": out}, bytes(self.blobs)

    def _event(self, item):
        raw = item["event"]
        log_type = item.get("log_type") or (raw.get("p_log_type") if isinstance(raw, dict) else None)
        return prowl_event.owned_event(raw, self.data_models.get(log_type))

    def _run_batch(self, items, out):
        """Production path: one frame per rule call; only matches and errors
        are reported. Each call is preceded by its progress mark, written
        straight into the slot (see _Progress)."""
        detections = self.detections
        data_models = self.data_models
        new_event = prowl_event.owned_event
        progress = self.progress
        pack, slot = progress.pack, progress.slot
        seq = progress.seq
        for item_index, item in enumerate(items):
            raw = item["event"]
            log_type = item.get("log_type") or (raw.get("p_log_type") if isinstance(raw, dict) else None)
            event = new_event(raw, data_models.get(log_type))
            results = []
            for rule_index in item["rules"]:
                detection = detections[rule_index]
                if detection is None:
                    continue
                seq = (seq + 1) & SEQ_MASK
                pack(slot, 0, item_index, rule_index, seq)
                try:
                    value = detection.matcher(event)
                except BaseException as exc:  # noqa: BLE001 - rule errors include SystemExit and timeouts
                    results.append({"rule": rule_index, "matched": False, "error": _error(exc, detection.path)})
                    continue
                if value is detection.alert_value:
                    outputs, errors = self._outputs(detection, event, None, False)
                    result = {"rule": rule_index, "matched": True, "rule_value": value, "outputs": outputs}
                    if errors:
                        result["function_errors"] = errors
                    results.append(result)
                elif value is not detection.no_alert_value:
                    results.append({"rule": rule_index, "matched": False, "error": _error(
                        _return_type_error(detection, value), detection.path)})
            out.append(results)

    def _run_item(self, item_index, item):
        """Test path: every verdict with printed output, mocks and a fresh cache."""
        event = self._event(item)
        results = []
        for rule_index in item["rules"]:
            detection = self.detections[rule_index]
            if detection is None:
                continue
            self.progress.mark(item_index, rule_index)
            result = self._run_test(detection, event, item.get("mocks"))
            result["rule"] = rule_index
            results.append(result)
        return results

    def _call(self, fn, event, capture):
        if capture is None:
            return fn(event)
        saved = sys.stdout
        sys.stdout = capture
        try:
            return fn(event)
        finally:
            sys.stdout = saved

    def _run_test(self, detection, event, mocks):
        """One detection on one test event: mocks applied, output captured."""
        capture = io.StringIO()
        patcher = None
        if mocks:
            from unittest import mock

            patcher = mock.patch.multiple(
                detection.module, **{m["name"]: mock.MagicMock(return_value=m["value"]) for m in mocks}
            )
        import panther_detection_helpers.caching as caching

        caching.reset_memory_store()
        try:
            if patcher is not None:
                patcher.start()
            try:
                return self._evaluate_test(detection, event, capture)
            finally:
                if patcher is not None:
                    patcher.stop()
        except BaseException as exc:  # noqa: BLE001 - e.g. a mock naming nothing
            return {"matched": False, "error": _error(exc, detection.path), "stdout": capture.getvalue()}

    def _evaluate_test(self, detection, event, capture):
        try:
            value = self._call(detection.matcher, event, capture)
            if not isinstance(value, bool):
                raise _return_type_error(detection, value)
        except BaseException as exc:  # noqa: BLE001 - rule errors include SystemExit and timeouts
            return {"matched": False, "error": _error(exc, detection.path), "stdout": capture.getvalue()}
        matched = value == detection.alert_value
        result = {"matched": matched, "rule_value": value, "defined": sorted(detection.functions)}
        if matched:
            outputs, errors = self._outputs(detection, event, capture, True)
            result["outputs"] = outputs
            if errors:
                result["function_errors"] = errors
        stdout = capture.getvalue()
        if stdout:
            result["stdout"] = stdout
        return result

    def _outputs(self, detection, event, capture, test_mode):
        """The alert fields of a match, in Panther's order of calls, with the
        fallback of each function that is missing or fails (the failures go
        to errors)."""
        spec = detection.spec
        functions = detection.functions
        errors = {}
        aux = self._aux

        if "title" in functions:
            title, exc = aux(detection, "title", _want_str, event, capture, errors)
            if exc is not None:
                title = detection.id if exc else (spec.get("display_name") or detection.id)
        else:
            title = spec.get("display_name") or detection.id
        title = _truncate(title, MAX_GENERATED_FIELD_SIZE)

        if "dedup" in functions:
            dedup, exc = aux(detection, "dedup", _want_str, event, capture, errors)
            if exc is not None:
                dedup = f"defaultDedupString:{detection.id}"
        elif "title" in functions and "title" not in errors:
            dedup = title
        else:
            dedup = f"defaultDedupString:{detection.id}"
        dedup = _truncate(dedup, MAX_DEDUP_STRING_SIZE)

        if "severity" in functions:
            severity, exc = aux(detection, "severity", _check_severity, event, capture, errors)
            if exc is not None:
                severity = spec.get("severity", "INFO")
        else:
            severity = spec.get("severity", "INFO")

        if "alert_context" in functions:
            context, exc = aux(detection, "alert_context", _encode_context, event, capture, errors)
            if exc is not None:
                context = json.dumps({"_error": repr(exc)}) if exc else "{}"
        else:
            context = "{}"

        description = self._text(detection, "description", event, capture, errors)
        reference = self._text(detection, "reference", event, capture, errors)
        runbook = self._text(detection, "runbook", event, capture, errors)

        destinations = None
        if "destinations" in functions:
            def check_destinations(detection, name, value):
                return self._check_destinations(detection, value, test_mode)

            destinations, exc = aux(detection, "destinations", check_destinations, event, capture, errors)
            if exc is not None:
                destinations = None

        unique = None
        if "unique" in functions:
            unique, exc = aux(detection, "unique", _want_str, event, capture, errors)
            if exc is not None:
                unique = None

        outputs = {
            "title": title,
            "dedup": dedup,
            "severity": severity,
            "alert_context_blob": self._blob(context),
            "description": description,
            "reference": reference,
            "runbook": runbook,
            "destinations": destinations,
            "unique": unique,
        }
        return outputs, errors

    def _aux(self, detection, name, check, event, capture, errors):
        """Call alert function name and check its value: (value, None), or
        (None, the exception) once the error is recorded in errors."""
        try:
            return check(detection, name, self._call(detection.functions[name], event, capture)), None
        except BaseException as exc:  # noqa: BLE001 - fall back like Panther's batch mode
            errors[name] = _error(exc, detection.path)
            return None, exc

    def _text(self, detection, name, event, capture, errors):
        """description, reference or runbook: the function's string, else the spec's."""
        if name in detection.functions:
            value, exc = self._aux(detection, name, _want_str, event, capture, errors)
            if exc is not None:
                value = ""
        else:
            value = detection.spec.get(name, "")
        return _truncate(value, MAX_GENERATED_FIELD_SIZE)

    def _check_destinations(self, detection, value, test_mode):
        if value is None:
            return None
        if not isinstance(value, (list, tuple, prowl_event.ImmutableList)) or not all(
            isinstance(v, str) for v in value
        ):
            raise FunctionReturnTypeError(
                f"detection [{detection.id}] function [destinations] returned [{type(value).__name__}], "
                "expected [list[str]]"
            )
        value = list(value)[:MAX_DESTINATIONS_SIZE]
        if not value:
            return ["SKIP"]
        if test_mode and self.available_destinations is not None:
            unknown = [v for v in value if v != "SKIP" and v not in self.available_destinations]
            if unknown:
                raise UnknownDestinationError(
                    f"detection [{detection.id}] function [destinations] named unknown destinations {unknown}"
                )
        return value

    def _blob(self, text):
        data = text.encode("utf-8", "surrogatepass")
        offset = len(self.blobs)
        self.blobs += data
        return [offset, len(data)]


def _prefilters(detections):
    """Static prefilters of the loaded rules (see prowl_prefilter); a failure
    of the analyser only means no prefilters."""
    try:
        import prowl_prefilter

        return prowl_prefilter.analyse_detections(detections)
    except Exception:  # noqa: BLE001 - never fail a load over an optimisation
        return {}


def _want_str(detection, name, value):
    if not isinstance(value, str):
        raise FunctionReturnTypeError(
            f"detection [{detection.id}] function [{name}] returned [{type(value).__name__}], expected [str]"
        )
    return value


def _check_severity(detection, _name, value):
    if not isinstance(value, str):
        raise FunctionReturnTypeError(
            f"detection [{detection.id}] function [severity] returned [{type(value).__name__}], expected [str]"
        )
    upper = value.upper()
    if upper == "DEFAULT":
        return detection.spec.get("severity", "INFO")
    if upper not in SEVERITIES:
        raise ValueError(
            f"detection [{detection.id}] function [severity] returned [{value}], expected one of "
            + ", ".join(SEVERITIES) + " or DEFAULT"
        )
    return upper


# json.dumps(value, default=_json_default, allow_nan=False, separators=(",", ":")),
# without building an encoder per call.
_CONTEXT_ENCODER = json.JSONEncoder(default=_json_default, allow_nan=False, separators=(",", ":"))


def _encode_context(detection, _name, value):
    if not isinstance(value, Mapping):
        raise FunctionReturnTypeError(
            f"detection [{detection.id}] function [alert_context] returned [{type(value).__name__}], expected [Mapping]"
        )
    text = _CONTEXT_ENCODER.encode(value)
    if len(text) > MAX_ALERT_CONTEXT_SIZE:
        return json.dumps({
            "_error": f"alert_context size is [{len(text)}] characters, bigger than maximum of "
            f"[{MAX_ALERT_CONTEXT_SIZE}] characters"
        })
    return text


def _return_type_error(detection, value):
    return FunctionReturnTypeError(
        f"detection [{detection.id}] function [{detection.matcher.__name__}] returned "
        f"[{type(value).__name__}], expected [bool]"
    )


def main():
    fd_in = int(os.environ.get("PROWL_IN", "3"))
    fd_out = int(os.environ.get("PROWL_OUT", "4"))
    fd_progress = int(os.environ.get("PROWL_PROGRESS", "-1"))
    memory_mb = int(os.environ.get("PROWL_MEMORY_MB", "0"))
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    frames = _Frames(fd_in, fd_out)
    worker = Worker(frames, _Progress(fd_progress))
    frames.write({"op": "hello", "protocol": PROTOCOL_VERSION, "python": sys.version.split()[0]})
    while True:
        req = frames.read()
        if req is None:
            return
        op = req.get("op")
        blobs = b""
        try:
            if op == "load":
                reply = worker.load(req)
                gc.collect()
                gc.freeze()  # the loaded detections are long-lived: keep them out of collections
            elif op == "run":
                reply, blobs = worker.run(req)
            elif op == "ping":
                reply = {"op": "pong"}
            else:
                reply = {"op": "error", "message": f"unknown op {op!r}"}
        except BaseException as exc:  # noqa: BLE001 - the worker must answer every request
            reply = {"op": "error", "message": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        frames.write(reply, blobs)


if __name__ == "__main__":
    main()
