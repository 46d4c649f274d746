// Package pyrt runs Python detections in a pool of real CPython worker
// processes. Go sends events in batches over pipes (see protocol.go); each
// worker imports the detections once and evaluates rule() and the alert
// functions with Panther's semantics. A detection that hangs, exits, prints
// or exhausts memory cannot corrupt the protocol or stall the pool: it gets
// a time budget, the worker is restarted when needed, and the failure comes
// back as a rule error naming the detection.
package pyrt

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"time"
)

// Config tunes the worker pool.
type Config struct {
	// Python is the interpreter; default: /usr/bin/python3 when present,
	// else python3 on PATH.
	Python string
	// Workers is the number of processes; default: one per CPU.
	Workers int
	// RuleTimeout bounds one detection function call; default 10s.
	RuleTimeout time.Duration
	// MemoryLimitMB caps each worker's address space; 0 means 2048.
	MemoryLimitMB int
	// KVPath is the SQLite file behind panther_detection_helpers.caching;
	// empty keeps the cache in memory (tests reset it before each test).
	KVPath string
	// AvailableDestinations, when non-nil, is the set of destination names
	// destinations() may return in test mode.
	AvailableDestinations []string
	// BatchSize is the number of items sent to a worker at once; default 500.
	BatchSize int
	// Output receives what detections print (nil discards it).
	Output Writer
	// Prefilters makes the workers analyse every rule at load and derive a
	// static prefilter (see Pool.Prefilters and package prefilter).
	Prefilters bool
}

// Writer receives detection output; *os.File and bytes.Buffer satisfy it.
type Writer interface {
	Write(p []byte) (int, error)
}

func (c Config) withDefaults() Config {
	if c.Python == "" {
		c.Python = DefaultPython()
	}
	if c.Workers <= 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.RuleTimeout <= 0 {
		c.RuleTimeout = 10 * time.Second
	}
	if c.MemoryLimitMB == 0 {
		c.MemoryLimitMB = 2048
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	return c
}

// DefaultPython is /usr/bin/python3 when it exists (the system interpreter
// measured fastest here), else python3 from PATH.
func DefaultPython() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	if p, err := exec.LookPath("python3"); err == nil {
		return p
	}
	return "python3"
}

// Program is what every worker loads.
type Program struct {
	Globals    []Module
	DataModels []DataModel
	Detections []Detection
}

// Module is an importable helper module (a repository global).
type Module struct {
	Name string // the import name (GlobalID)
	File string
}

// DataModel maps unified field names for some log types.
type DataModel struct {
	ID       string
	LogTypes []string
	File     string // optional .py holding Method functions
	Mappings []Mapping
}

// Mapping is one data-model entry: Path or Method.
type Mapping struct {
	Name, Path, Method string
}

// Detection is a Python rule, scheduled rule or policy with the spec values
// the alert functions fall back to.
type Detection struct {
	ID          string
	Kind        string // rule, scheduled_rule or policy
	File        string
	Severity    string
	DisplayName string
	Description string
	Reference   string
	Runbook     string
}

// Mode selects production semantics (batch: alert-function errors fall back
// to defaults, non-matches are not reported) or test semantics.
type Mode string

// The evaluation modes.
const (
	ModeBatch Mode = "batch"
	ModeTest  Mode = "test"
)

// Item is one event and the detections (indexes into Program.Detections)
// to run on it.
type Item struct {
	Event   json.RawMessage `json:"event"`
	LogType string          `json:"log_type,omitempty"`
	Rules   []int           `json:"rules"`
	Mocks   []Mock          `json:"mocks,omitempty"`
}

// Mock replaces a name in the detection module for one test.
type Mock struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// Result is one detection's verdict on one event. In batch mode only
// matches and errors are reported.
type Result struct {
	Rule           int                 `json:"rule"`
	Matched        bool                `json:"matched"`
	RuleValue      *bool               `json:"rule_value"`
	Error          *PyError            `json:"error"`
	Outputs        *Outputs            `json:"outputs"`
	FunctionErrors map[string]*PyError `json:"function_errors"`
	Stdout         string              `json:"stdout"`
	Defined        []string            `json:"defined"`
}

// Outputs are the alert fields a match produced, defaults filled in.
type Outputs struct {
	Title        string          `json:"title"`
	Dedup        string          `json:"dedup"`
	Severity     string          `json:"severity"`
	AlertContext json.RawMessage `json:"alert_context"`
	Description  string          `json:"description"`
	Reference    string          `json:"reference"`
	Runbook      string          `json:"runbook"`
	Destinations []string        `json:"destinations"`
	Unique       *string         `json:"unique"`
}

// PyError describes a Python exception (or a worker failure) in a detection.
type PyError struct {
	Type      string `json:"type"`
	Message   string `json:"message"`
	Repr      string `json:"repr"`
	File      string `json:"file"`
	Line      int    `json:"line"`
	Traceback string `json:"traceback"`
}

func (e *PyError) Error() string { return e.Type + ": " + e.Message }
