package lake

import (
	"strings"
	"sync"

	"github.com/parquet-go/parquet-go"

	"github.com/prowl-siem/prowl/internal/logtypes"
)

// The tables that do not come from a log type: the lead's engine and the
// quarantine write them through WriteRuleMatches, WriteRuleErrors and
// WriteQuarantine.
const (
	TableRuleMatches = "rule_matches"
	TableRuleErrors  = "rule_errors"
	TableQuarantine  = "quarantine"
)

// DuckDB column types used by the lake.
const (
	typeVarchar   = "VARCHAR"
	typeBigint    = "BIGINT"
	typeDouble    = "DOUBLE"
	typeBoolean   = "BOOLEAN"
	typeTimestamp = "TIMESTAMP"
	typeList      = "VARCHAR[]"
)

// Column kinds: how a value is converted for a column.
type colKind uint8

const (
	kString    colKind = iota // JSON string → VARCHAR (numbers and booleans as their text)
	kInt                      // JSON integer → BIGINT
	kFloat                    // JSON number → DOUBLE
	kBool                     // JSON boolean → BOOLEAN
	kTimestamp                // string or number in the field's timeFormat → TIMESTAMP
	kJSON                     // any JSON → VARCHAR holding the JSON text
	kList                     // JSON array of strings → VARCHAR[]
)

// tableDef is the column layout of one lake table.
type tableDef struct {
	name    string
	cols    []Column
	kinds   []colKind
	timeCol int // index of the partitioning time column

	// Log-type tables only.
	logType string
	schema  *logtypes.Schema
	byKey   map[string]int               // top-level JSON key → column
	parsers map[int]*logtypes.TimeParser // timestamp columns → parser
	pIdx    map[string]int               // p_ column → column
	pOrder  []string                     // p_ columns in order
	extra   int                          // p_extra
	meta    []bool                       // columns set from the event's metadata, not its JSON
	fixed   bool                         // a fixed table (rule_matches, …)

	pqOnce sync.Once
	pq     *parquet.Schema // parquetSchema
}

// The standard columns of every log-type table, after the schema's fields.
var pColumns = func() []Column {
	cols := []Column{
		{"p_log_type", typeVarchar},
		{"p_row_id", typeVarchar},
		{"p_event_time", typeTimestamp},
		{"p_parse_time", typeTimestamp},
		{"p_schema_version", typeBigint},
		{"p_source_id", typeVarchar},
		{"p_source_label", typeVarchar},
	}
	for _, f := range logtypes.IndicatorFields() {
		cols = append(cols, Column{f, typeList})
	}
	return append(cols, Column{"p_extra", typeVarchar})
}()

func kindOfType(t string) colKind {
	switch t {
	case typeBigint:
		return kInt
	case typeDouble:
		return kFloat
	case typeBoolean:
		return kBool
	case typeTimestamp:
		return kTimestamp
	case typeList:
		return kList
	}
	return kString
}

// fieldColumn maps a schema field type to a DuckDB type and column kind.
func fieldColumn(t logtypes.FieldType) (string, colKind) {
	switch t {
	case logtypes.TypeString:
		return typeVarchar, kString
	case logtypes.TypeInt, logtypes.TypeBigint:
		return typeBigint, kInt
	case logtypes.TypeFloat:
		return typeDouble, kFloat
	case logtypes.TypeBoolean:
		return typeBoolean, kBool
	case logtypes.TypeTimestamp:
		return typeTimestamp, kTimestamp
	default: // object, array, json
		return typeVarchar, kJSON
	}
}

// TableName is the lake table of a log type: the schema's TableName, or for
// a log type the registry does not know (its schema was removed after its
// events were written ahead) the same derivation the registry uses.
func TableName(reg *logtypes.Registry, logType string) string {
	if reg != nil {
		if s, ok := reg.Get(logType); ok && s.TableName != "" {
			return s.TableName
		}
	}
	return strings.ToLower(strings.ReplaceAll(logType, ".", "_"))
}

// logTypeTable builds the layout of a log type's table: every top-level
// schema field as a typed column, the p_ columns, and p_extra for the
// top-level fields the schema does not name. A field whose name collides
// with an earlier column (DuckDB names are case-insensitive) is not a
// column: its values go to p_extra, so nothing is lost. s may be nil for an
// unknown log type: then every original field goes to p_extra.
func logTypeTable(name, logType string, s *logtypes.Schema) *tableDef {
	d := &tableDef{name: name, logType: logType, schema: s, byKey: map[string]int{},
		parsers: map[int]*logtypes.TimeParser{}, pIdx: map[string]int{}}
	taken := map[string]bool{}
	for _, c := range pColumns {
		taken[strings.ToLower(c.Name)] = true
	}
	if s != nil {
		for _, f := range s.Fields {
			low := strings.ToLower(f.Name)
			if taken[low] {
				continue
			}
			typ, kind := fieldColumn(f.Type)
			if kind == kTimestamp {
				p, err := logtypes.NewTimeParser(f.TimeFormat)
				if err != nil { // cannot happen for a validated schema
					typ, kind = typeVarchar, kJSON
				} else {
					d.parsers[len(d.cols)] = p
				}
			}
			taken[low] = true
			d.byKey[f.Name] = len(d.cols)
			d.cols = append(d.cols, Column{Name: f.Name, Type: typ})
			d.kinds = append(d.kinds, kind)
		}
	}
	for _, c := range pColumns {
		d.pIdx[c.Name] = len(d.cols)
		d.pOrder = append(d.pOrder, c.Name)
		d.cols = append(d.cols, c)
		d.kinds = append(d.kinds, kindOfType(c.Type))
	}
	d.timeCol = d.pIdx["p_event_time"]
	d.meta = make([]bool, len(d.cols))
	for _, c := range []string{"p_log_type", "p_row_id", "p_event_time", "p_parse_time"} {
		d.meta[d.pIdx[c]] = true
	}
	d.extra = d.pIdx["p_extra"]
	return d
}

// fixedTable builds the layout of a table with fixed columns.
func fixedTable(name string, timeCol string, cols []Column) *tableDef {
	d := &tableDef{name: name, cols: cols, fixed: true}
	for i, c := range cols {
		d.kinds = append(d.kinds, kindOfType(c.Type))
		if c.Name == timeCol {
			d.timeCol = i
		}
	}
	return d
}

var ruleMatchColumns = []Column{
	{"p_row_id", typeVarchar},
	{"p_log_type", typeVarchar},
	{"p_event_time", typeTimestamp},
	{"p_alert_id", typeVarchar},
	{"p_rule_id", typeVarchar},
	{"p_rule_severity", typeVarchar},
	{"p_rule_tags", typeList},
	{"p_rule_reports", typeVarchar},
	{"p_alert_context", typeVarchar},
	{"p_alert_creation_time", typeTimestamp},
	{"event", typeVarchar},
}

// correlationColumns follow ruleMatchColumns in rule_matches (RuleMatch's
// CorrelationPaths and CorrelationFields).
var correlationColumns = []Column{
	{"p_correlation_paths", typeList},
	{"p_correlation_fields", typeVarchar},
}

// The fixed tables, partitioned by p_event_time (rule tables) or
// received_at (quarantine).
var (
	ruleMatchesTable = fixedTable(TableRuleMatches, "p_event_time",
		append(append([]Column(nil), ruleMatchColumns...), correlationColumns...))
	ruleErrorsTable = fixedTable(TableRuleErrors, "p_event_time",
		append(append([]Column(nil), ruleMatchColumns...), Column{"p_rule_error", typeVarchar}))
	quarantineTable = fixedTable(TableQuarantine, "received_at", []Column{
		{"p_source_id", typeVarchar},
		{"log_type", typeVarchar},
		{"reason", typeVarchar},
		{"detail", typeVarchar},
		{"raw", typeVarchar},
		{"received_at", typeTimestamp},
	})
	fixedTables = map[string]*tableDef{
		TableRuleMatches: ruleMatchesTable,
		TableRuleErrors:  ruleErrorsTable,
		TableQuarantine:  quarantineTable,
	}
)

// tableDefs caches the layouts of log-type tables by schema. A custom
// schema replaced in the registry is a new *Schema and gets a new layout.
type tableDefs struct {
	reg *logtypes.Registry
	mu  sync.Mutex
	m   map[string]*tableDef // log type → layout of its current schema
}

// forLogType returns the layout of a log type's table.
func (t *tableDefs) forLogType(logType string) *tableDef {
	var s *logtypes.Schema
	if t.reg != nil {
		s, _ = t.reg.Get(logType)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if d, ok := t.m[logType]; ok && d.schema == s {
		return d
	}
	if t.m == nil {
		t.m = map[string]*tableDef{}
	}
	d := logTypeTable(TableName(t.reg, logType), logType, s)
	t.m[logType] = d
	return d
}

// sqlIdent quotes a DuckDB identifier.
func sqlIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// sqlString quotes a DuckDB string literal.
func sqlString(s string) string {
	return `'` + strings.ReplaceAll(s, `'`, `''`) + `'`
}
