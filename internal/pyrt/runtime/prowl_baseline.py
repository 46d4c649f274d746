"""The naive baseline a Panther-style engine runs: one Python process that
calls every rule on every event (with the case-insensitive event wrapper) and
every alert function on matches (serialising the alert context, as an
engine must). Used only to compare against prowl.

Input (stdin): one JSON line with {"detections": [{"id", "path"}...],
"data_models": [...]} followed by NDJSON events. Output: one JSON line with
the event count, match count and the seconds the loop took.
"""

import importlib.util
import json
import sys
import time

import prowl_datamodel
import prowl_event
import prowl_worker

AUX = ("title", "dedup", "severity", "description", "reference", "runbook", "destinations", "unique")


def _plain(value):
    if isinstance(value, (prowl_event.ImmutableCaseInsensitiveDict, prowl_event.ImmutableList)):
        return value._container
    return str(value)


def main():
    header = json.loads(sys.stdin.readline())
    finder = prowl_worker._GlobalsFinder()
    for spec in header.get("globals") or []:
        finder.paths[spec["id"]] = spec["path"]
    sys.meta_path.insert(0, finder)
    rules = []
    for index, spec in enumerate(header["detections"]):
        module_spec = importlib.util.spec_from_file_location(f"baseline_{index}", spec["path"])
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        aux = [getattr(module, n) for n in AUX if hasattr(module, n)]
        context = getattr(module, "alert_context", None)
        rules.append((module.rule, aux, context))
    models = {}
    for spec in header.get("data_models") or []:
        module = None
        if spec.get("path"):
            module_spec = importlib.util.spec_from_file_location("baseline_dm", spec["path"])
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        model = prowl_datamodel.DataModel(spec["id"], spec.get("mappings") or [], module)
        for log_type in spec.get("log_types") or []:
            models[log_type] = model
    lines = sys.stdin.readlines()
    start = time.perf_counter()
    events = matches = errors = 0
    for line in lines:
        raw = json.loads(line)
        event = prowl_event.PantherEvent(raw, models.get(raw.get("p_log_type")))
        events += 1
        for rule, aux, context in rules:
            try:
                if rule(event):
                    matches += 1
                    for fn in aux:
                        fn(event)
                    if context is not None:
                        json.dumps(context(event), default=_plain)
            except Exception:  # noqa: BLE001 - counted like a rule error
                errors += 1
    elapsed = time.perf_counter() - start
    print(json.dumps({"events": events, "matches": matches, "errors": errors, "seconds": elapsed}))


if __name__ == "__main__":
    main()
