// Package analysis loads and validates a detections repository: the YAML specs
// and Python files of rules, scheduled rules, policies, globals, data models,
// packs, saved and scheduled queries, correlation rules and lookup tables, in
// the format of Panther's public panther-analysis repository.
package analysis

// Kind is the AnalysisType of a spec.
type Kind string

// The analysis types prowl understands.
const (
	KindRule            Kind = "rule"
	KindScheduledRule   Kind = "scheduled_rule"
	KindPolicy          Kind = "policy"
	KindCorrelationRule Kind = "correlation_rule"
	KindGlobal          Kind = "global"
	KindDataModel       Kind = "datamodel"
	KindPack            Kind = "pack"
	KindScheduledQuery  Kind = "scheduled_query"
	KindSavedQuery      Kind = "saved_query"
	KindLookupTable     Kind = "lookup_table"
)

// Severities in increasing order.
var Severities = []string{"INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// Source locates a spec or one of its parts: the YAML file and the line.
type Source struct {
	File string // path of the YAML spec as given to the loader
	Line int    // 1-based line of the item, 0 when unknown
}

// Detection is a rule, scheduled rule, policy or correlation rule.
type Detection struct {
	Kind   Kind
	ID     string // RuleID or PolicyID
	Source Source
	// PythonFile is the absolute path of the rule's .py file; empty for simple
	// detections (Detection key) and correlation rules.
	PythonFile string

	Enabled            bool
	DisplayName        string
	Description        string
	Reference          string
	Runbook            string
	Severity           string // upper case: INFO, LOW, MEDIUM, HIGH, CRITICAL
	LogTypes           []string
	ResourceTypes      []string // policies
	ScheduledQueries   []string // scheduled rules
	Suppressions       []string // policies: resource ID patterns to ignore
	DedupPeriodMinutes int      // 60 when not set
	Threshold          int      // 1 when not set
	OutputIDs          []string
	Tags               []string
	Reports            map[string][]string
	SummaryAttributes  []string
	Status             string // as written, lower-cased: "", experimental, deprecated
	CreateAlert        bool   // true when not set; false makes a signal
	CreatedBy          string
	BaseDetection      string // derived detections
	OnlyUseBaseRisk    bool

	// Simple-detection and inline-filter parts, as decoded from YAML
	// (map[string]any / []any / scalars). The match package compiles them.
	InlineFilters     any
	Match             any // the YAML Detection key of a simple detection, or the correlation Detection
	AlertTitle        string
	AlertContext      any
	GroupBy           any
	DynamicSeverities any

	// Correlation rules.
	LookbackWindowMinutes int // 15 when not set
	Schedule              *Schedule
	EventEvaluationOrder  string // "", Chronological or ReverseChronological

	Tests []Test
	// Raw is the whole spec as decoded from YAML.
	Raw map[string]any
}

// IsSimple reports whether the detection is a simple detection (YAML only).
func (d *Detection) IsSimple() bool {
	return d.PythonFile == "" && d.Kind != KindCorrelationRule
}

// Test is one unit test of a detection.
type Test struct {
	Name           string
	Source         Source
	ExpectedResult bool
	// Log is the test event (Resource for policies), as JSON text.
	Log     []byte
	LogType string // LogType (ResourceType for policies), as written
	Mocks   []Mock
	// Expected alert outputs: prowl extensions. Nil when not asserted.
	ExpectedTitle        *string
	ExpectedDedup        *string
	ExpectedSeverity     *string
	ExpectedAlertContext []byte // JSON text; nil when not asserted
	// RuleOutputs holds the rule matches a correlation-rule test feeds in, as
	// decoded from YAML.
	RuleOutputs any
}

// Mock replaces a name bound in the detection module during one test.
type Mock struct {
	ObjectName  string
	ReturnValue []byte // JSON text of any value (Panther allows only strings)
}

// Global is a helper module importable under its GlobalID.
type Global struct {
	ID          string
	Source      Source
	PythonFile  string
	Description string
	Tags        []string
}

// DataModel maps unified field names to paths or methods for one log type.
type DataModel struct {
	ID          string
	Source      Source
	DisplayName string
	Enabled     bool
	LogTypes    []string
	PythonFile  string // optional; holds the Method functions
	Mappings    []Mapping
}

// Mapping is one data-model entry: exactly one of Path and Method is set.
type Mapping struct {
	Name   string
	Path   string
	Method string
}

// Pack is a named set of detections (and their dependencies).
type Pack struct {
	ID          string
	Source      Source
	DisplayName string
	Description string
	IDs         []string
}

// Query is a saved or scheduled query.
type Query struct {
	Kind        Kind // KindSavedQuery or KindScheduledQuery
	Name        string
	Source      Source
	Enabled     bool
	Description string
	Tags        []string
	SQL         string // Query, or the first of Snowflake/Athena/Databricks variants
	Schedule    *Schedule
	Lookback    bool
	// LookbackWindowSeconds is the time range a scheduled query reads.
	LookbackWindowSeconds int
}

// Schedule says when a scheduled query or correlation rule runs: exactly one
// of RateMinutes and CronExpression.
type Schedule struct {
	RateMinutes    int
	CronExpression string
	TimeoutMinutes int
}

// LookupTable is an enrichment table spec (loaded and validated only).
type LookupTable struct {
	Name    string
	Source  Source
	Enabled bool
	Raw     map[string]any
}

// Repo is everything loaded from one or more analysis directories.
type Repo struct {
	Detections   []*Detection
	Globals      []*Global
	DataModels   []*DataModel
	Packs        []*Pack
	Queries      []*Query
	LookupTables []*LookupTable
}

// Detection returns the detection with the given ID, or nil.
func (r *Repo) Detection(id string) *Detection {
	for _, d := range r.Detections {
		if d.ID == id {
			return d
		}
	}
	return nil
}
