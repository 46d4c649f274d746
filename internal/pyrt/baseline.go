package pyrt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
)

// BaselineResult is what the naive single-process Python loop measured.
type BaselineResult struct {
	Events  int     `json:"events"`
	Matches int     `json:"matches"`
	Errors  int     `json:"errors"`
	Seconds float64 `json:"seconds"`
}

// EventsPerSecond is the loop's throughput.
func (b BaselineResult) EventsPerSecond() float64 { return float64(b.Events) / b.Seconds }

// RunBaseline runs prog's Python detections over events (NDJSON) in one
// plain Python loop, every rule on every event: the way a Panther-style
// engine evaluates rules. It is the yardstick prowl's benchmarks compare
// against; the loop's own clock excludes interpreter start and imports.
func RunBaseline(python string, prog *Program, events []byte) (BaselineResult, error) {
	var res BaselineResult
	dir, err := runtimeDir()
	if err != nil {
		return res, err
	}
	if python == "" {
		python = DefaultPython()
	}
	req := buildLoad(Config{}.withDefaults(), prog)
	header, err := json.Marshal(map[string]any{"detections": req.Detections, "data_models": req.DataModels, "globals": req.Globals})
	if err != nil {
		return res, err
	}
	cmd := exec.Command(python, "-B", "-s", filepath.Join(dir, "prowl_baseline.py"))
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "PYTHONPATH="+dir)
	cmd.Stdin = bytes.NewReader(append(append(header, '\n'), events...))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return res, fmt.Errorf("baseline loop: %w: %s", err, stderr.String())
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("baseline loop output %q: %w", out, err)
	}
	return res, nil
}
