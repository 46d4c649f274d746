package analysis

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file holds the schema of each analysis type (its keys, following
// panther_analysis_tool's schemas.py) and decodes specs into the types of
// types.go.

// Kinds lists every AnalysisType.
var Kinds = []Kind{
	KindRule, KindScheduledRule, KindPolicy, KindCorrelationRule, KindGlobal,
	KindDataModel, KindPack, KindScheduledQuery, KindSavedQuery, KindLookupTable,
}

// specMarkers are keys that only analysis specs have: a YAML mapping with one
// of them but no AnalysisType is reported as a spec missing its type.
var specMarkers = []string{"RuleID", "PolicyID", "Filename", "GlobalID", "DataModelID", "PackID", "QueryName", "LookupName"}

// Keys of each spec kind and of their parts. Prowl extensions are marked.
var (
	ruleKeys = []string{
		"AnalysisType", "Enabled", "Filename", "Detection", "RuleID", "LogTypes",
		"ScheduledQueries", "Severity", "Description", "DedupPeriodMinutes",
		"InlineFilters", "DisplayName", "OnlyUseBaseRiskScore", "OutputIds",
		"Reference", "Runbook", "Status", "SummaryAttributes", "Threshold", "Tags",
		"Reports", "Tests", "DynamicSeverities", "AlertTitle", "AlertContext",
		"GroupBy", "CreateAlert", "CreatedBy", "BaseVersion", "BaseDetection",
	}
	// derivedKeys may be set by a derived detection (one with BaseDetection);
	// everything else comes from the base.
	derivedKeys = []string{
		"AnalysisType", "RuleID", "BaseDetection", "Enabled", "Severity",
		"Description", "DedupPeriodMinutes", "InlineFilters", "DisplayName",
		"OnlyUseBaseRiskScore", "OutputIds", "Reference", "Runbook",
		"SummaryAttributes", "Threshold", "Tags", "Reports", "DynamicSeverities",
		"AlertTitle", "AlertContext", "GroupBy", "Tests", "CreateAlert", "Status",
		"CreatedBy", "BaseVersion",
	}
	policyKeys = []string{
		"AnalysisType", "Enabled", "Filename", "PolicyID", "ResourceTypes",
		"Severity", "ActionDelaySeconds", "AutoRemediationID",
		"AutoRemediationParameters", "Description", "DisplayName",
		"OnlyUseBaseRiskScore", "OutputIds", "Reference", "Runbook",
		"Suppressions", "Tags", "Reports", "Tests", "Status", "CreatedBy",
	}
	correlationKeys = []string{
		"AnalysisType", "RuleID", "Enabled", "Detection", "Severity",
		"Description", "DisplayName", "OnlyUseBaseRiskScore", "OutputIds",
		"Reference", "Runbook", "SummaryAttributes", "Tags", "Reports",
		"CreateAlert", "Tests", "Status", "CreatedBy",
		// Panther writes these inside the Detection item; prowl also accepts
		// them at the top level.
		"LookbackWindowMinutes", "Schedule", "EventEvaluationOrder",
	}
	correlationItemKeys = []string{
		"Sequence", "Group", "Transitions", "MatchCriteria",
		"LookbackWindowMinutes", "Schedule", "EventEvaluationOrder",
	}
	correlationStepKeys  = []string{"ID", "RuleID", "SignalMatch", "MinMatchCount", "MaxMatchCount", "Absence"}
	transitionKeys       = []string{"ID", "From", "To", "WithinTimeFrameMinutes", "Match"}
	transitionMatchKeys  = []string{"On", "From", "To"}
	matchCriterionKeys   = []string{"GroupID", "Match"}
	eventEvaluationOrder = []string{"Chronological", "ReverseChronological"}

	// Test keys. ExpectedTitle, ExpectedDedup, ExpectedSeverity and
	// ExpectedAlertContext are prowl extensions.
	ruleTestKeys = []string{
		"Name", "ExpectedResult", "Log", "LogType", "Mocks",
		"ExpectedTitle", "ExpectedDedup", "ExpectedSeverity", "ExpectedAlertContext",
	}
	policyTestKeys = []string{
		"Name", "ExpectedResult", "Resource", "ResourceType", "Mocks",
		"ExpectedTitle", "ExpectedDedup", "ExpectedSeverity", "ExpectedAlertContext",
	}
	correlationTestKeys = []string{"Name", "ExpectedResult", "RuleOutputs"}
	mockKeys            = []string{"objectName", "returnValue"}
	ruleOutputKeys      = []string{"ID", "Matches"}

	globalKeys    = []string{"AnalysisType", "GlobalID", "Filename", "Description", "Tags"}
	dataModelKeys = []string{"AnalysisType", "DataModelID", "DisplayName", "Enabled", "Filename", "LogTypes", "Mappings"}
	mappingKeys   = []string{"Name", "Path", "Method"}
	packKeys      = []string{"AnalysisType", "PackID", "PackDefinition", "Description", "DisplayName"}
	packDefKeys   = []string{"IDs"}

	scheduledQueryKeys = []string{
		"AnalysisType", "QueryName", "Enabled", "Query", "SnowflakeQuery",
		"AthenaQuery", "DatabricksQuery", "Schedule", "Lookback",
		"LookbackWindowSeconds", "EmailConfig", "Description", "Tags",
	}
	savedQueryKeys = []string{
		"AnalysisType", "QueryName", "Enabled", "Query", "SnowflakeQuery",
		"AthenaQuery", "DatabricksQuery", "PantherFlowQuery", "Lookback",
		"LookbackWindowSeconds", "Description", "Tags",
	}
	// querySQLKeys are the keys holding a query's SQL, in order of
	// preference.
	querySQLKeys    = []string{"Query", "SnowflakeQuery", "AthenaQuery", "DatabricksQuery", "PantherFlowQuery"}
	scheduleKeys    = []string{"CronExpression", "RateMinutes", "TimeoutMinutes"}
	emailConfigKeys = []string{"Recipients", "SendEmpty", "PreferAttachment"}

	lookupTableKeys = []string{
		"AnalysisType", "LookupName", "Enabled", "Schema", "LogTypeMap", "Filename",
		"Refresh", "Description", "Reference", "Query", "SnowflakeQuery",
		"AthenaQuery", "DatabricksQuery", "PantherFlowQuery",
	}
	logTypeMapKeys        = []string{"PrimaryKey", "AssociatedLogTypes"}
	associatedLogTypeKeys = []string{"LogType", "Selectors"}
	refreshKeys           = []string{"RoleARN", "ObjectPath", "PeriodMinutes", "AlarmPeriodMinutes", "ObjectKMSKey"}
)

// Namespaces of identifiers: an ID must be unique within its namespace.
const (
	nsDetection   = "detection"
	nsGlobal      = "global"
	nsDataModel   = "data model"
	nsPack        = "pack"
	nsQuery       = "query"
	nsLookupTable = "lookup table"
)

// ref is a reference from one spec to another by ID, with the line where it
// is written.
type ref struct {
	id   string
	line int
}

// spec is one decoded YAML spec, valid or not, with what the loader needs to
// check it against the others.
type spec struct {
	kind  Kind
	src   Source
	ns    string // namespace of id
	idKey string // the key holding id: RuleID, PolicyID, ...
	id    string // "" when unreadable
	idLn  int
	item  any // *Detection, *Global, ...; nil when the spec has problems

	base         ref   // derived detections: BaseDetection
	queries      []ref // scheduled rules: ScheduledQueries
	packIDs      []ref // packs: PackDefinition.IDs
	logTypesLine int   // data models
}

// decodeSpec decodes root, a mapping with an AnalysisType key.
func (d *decoder) decodeSpec(root *yaml.Node) *spec {
	var at *yaml.Node
	for _, p := range pairs(root) {
		if keyString(p.key) == "AnalysisType" {
			at = resolve(p.value)
		}
	}
	s := &spec{src: Source{d.file, root.Line}}
	if at == nil || !isString(at) {
		d.errorf(at, "AnalysisType: expected string, got %s", describe(at))
		return s
	}
	s.kind = Kind(at.Value)
	switch s.kind {
	case KindRule, KindScheduledRule, KindPolicy, KindCorrelationRule:
		d.detection(root, s)
	case KindGlobal:
		d.global(root, s)
	case KindDataModel:
		d.dataModel(root, s)
	case KindPack:
		d.pack(root, s)
	case KindScheduledQuery, KindSavedQuery:
		d.query(root, s)
	case KindLookupTable:
		d.lookupTable(root, s)
	default:
		names := make([]string, len(Kinds))
		for i, k := range Kinds {
			names[i] = string(k)
		}
		if hint := didYouMean(at.Value, names); hint != "" {
			d.errorf(at, "unknown AnalysisType %q%s", at.Value, hint)
		} else {
			d.errorf(at, "unknown AnalysisType %q: must be one of %s", at.Value, quoteList(names))
		}
	}
	return s
}

// setID reads the identifier key k of the spec.
func (s *spec) setID(f *fieldset, ns, k string) string {
	s.ns, s.idKey = ns, k
	s.id = f.id(k)
	s.idLn = f.line(k)
	return s.id
}

// detection decodes a rule, scheduled rule, policy or correlation rule.
func (d *decoder) detection(root *yaml.Node, s *spec) {
	kind := s.kind
	derived := kind == KindRule && hasKey(root, "BaseDetection")
	what := string(kind) + " spec"
	known := ruleKeys
	switch kind {
	case KindPolicy:
		known = policyKeys
	case KindCorrelationRule:
		known = correlationKeys
	}
	if derived {
		what = "derived rule spec"
	}
	f := d.fields(root, what, known)
	det := &Detection{
		Kind: kind, Source: s.src,
		DedupPeriodMinutes: 60, Threshold: 1, CreateAlert: true,
	}
	if kind == KindPolicy {
		det.ID = s.setID(f, nsDetection, "PolicyID")
	} else {
		det.ID = s.setID(f, nsDetection, "RuleID")
	}

	if derived {
		for _, k := range ruleKeys {
			if f.has(k) && !slices.Contains(derivedKeys, k) {
				d.errorf(f.keys[k], "%s is not allowed in a derived detection: it comes from the BaseDetection", k)
			}
		}
		det.BaseDetection = f.id("BaseDetection")
		s.base = ref{det.BaseDetection, f.line("BaseDetection")}
	} else {
		f.require("Enabled")
		if f.has("BaseDetection") {
			d.errorf(f.keys["BaseDetection"], "BaseDetection is only supported in rule specs, not %s", kind)
		}
	}
	det.Enabled = f.boolean("Enabled", false)
	det.Severity = f.severity("Severity", !derived)
	det.DisplayName = f.str("DisplayName")
	det.Description = f.str("Description")
	det.Reference = f.str("Reference")
	det.Runbook = f.str("Runbook")
	det.Status = strings.ToLower(f.str("Status"))
	det.CreatedBy = f.str("CreatedBy")
	det.OutputIDs = f.strList("OutputIds")
	det.Tags = f.strList("Tags")
	det.Reports = f.reports("Reports")
	det.SummaryAttributes = f.strList("SummaryAttributes")
	det.OnlyUseBaseRisk = f.boolean("OnlyUseBaseRiskScore", false)
	det.CreateAlert = f.boolean("CreateAlert", true)
	if v, ok := f.integer("DedupPeriodMinutes", 0); ok {
		det.DedupPeriodMinutes = v
	}
	if v, ok := f.integer("Threshold", 1); ok {
		det.Threshold = v
	}
	f.integer("BaseVersion", 0)

	switch kind {
	case KindRule, KindScheduledRule:
		det.InlineFilters = f.rawList("InlineFilters")
		det.AlertTitle = f.str("AlertTitle")
		det.AlertContext = f.rawList("AlertContext")
		det.GroupBy = f.rawList("GroupBy")
		det.DynamicSeverities = f.rawList("DynamicSeverities")
		if !derived {
			d.ruleSource(f, det, s)
		}
	case KindPolicy:
		det.PythonFile = f.file("Filename", true)
		det.ResourceTypes = f.strList("ResourceTypes")
		det.Suppressions = f.strList("Suppressions")
		f.integer("ActionDelaySeconds", 0)
		f.str("AutoRemediationID")
	case KindCorrelationRule:
		d.correlation(f, det)
	}
	det.Tests = d.tests(f, kind)
	det.Raw = d.rawSpec(root)
	s.item = det
}

// ruleSource reads what a rule runs on (LogTypes or ScheduledQueries) and
// how it matches (a Python Filename or a simple Detection).
func (d *decoder) ruleSource(f *fieldset, det *Detection, s *spec) {
	hasFile, hasDet := f.oneOf("Filename", "Detection")
	if hasFile && !hasDet {
		det.PythonFile = f.file("Filename", true)
	}
	if hasDet && !hasFile {
		det.Match = f.rawList("Detection")
	}
	if det.Kind == KindScheduledRule && f.has("LogTypes") && !f.has("ScheduledQueries") {
		d.errorf(f.keys["LogTypes"], "a scheduled_rule runs on ScheduledQueries, not LogTypes")
		return
	}
	hasLT, hasSQ := f.oneOf("LogTypes", "ScheduledQueries")
	if hasLT && !hasSQ {
		det.LogTypes = f.strList("LogTypes")
		if len(det.LogTypes) == 0 && f.get("LogTypes").Kind == yaml.SequenceNode {
			d.errorf(f.vals["LogTypes"], "LogTypes must not be empty")
		}
	}
	if hasSQ && !hasLT {
		det.ScheduledQueries = f.strList("ScheduledQueries")
		if v := f.get("ScheduledQueries"); v.Kind == yaml.SequenceNode {
			if len(v.Content) == 0 {
				d.errorf(f.vals["ScheduledQueries"], "ScheduledQueries must not be empty")
			}
			for _, e := range v.Content {
				if e = resolve(e); isString(e) {
					s.queries = append(s.queries, ref{e.Value, e.Line})
				}
			}
		}
	}
}

// correlation reads the Detection of a correlation rule: one or more items,
// each a Sequence (with Transitions) or a Group (with MatchCriteria), with
// the rule's Schedule and lookback window.
func (d *decoder) correlation(f *fieldset, det *Detection) {
	det.LookbackWindowMinutes = 15
	if !f.require("Detection") {
		return
	}
	items := f.seq("Detection")
	if len(items) == 0 {
		if f.get("Detection").Kind == yaml.SequenceNode {
			d.errorf(f.vals["Detection"], "Detection must not be empty")
		}
		return
	}
	det.Match = f.raw("Detection")
	// Settings may be written at the top level (prowl) or in the item
	// (Panther); the first place they appear wins.
	var schedule, lookback, order bool
	settings := func(g *fieldset) {
		if g.has("Schedule") {
			if schedule {
				d.errorf(g.keys["Schedule"], "Schedule is set more than once")
			}
			schedule = true
			det.Schedule = d.schedule(g.vals["Schedule"], false)
		}
		if g.has("LookbackWindowMinutes") {
			if lookback {
				d.errorf(g.keys["LookbackWindowMinutes"], "LookbackWindowMinutes is set more than once")
			}
			lookback = true
			if v, ok := g.integer("LookbackWindowMinutes", 1); ok {
				det.LookbackWindowMinutes = v
			}
		}
		if g.has("EventEvaluationOrder") {
			if order {
				d.errorf(g.keys["EventEvaluationOrder"], "EventEvaluationOrder is set more than once")
			}
			order = true
			v := g.str("EventEvaluationOrder")
			if v != "" && !slices.Contains(eventEvaluationOrder, v) {
				d.errorf(g.vals["EventEvaluationOrder"], "EventEvaluationOrder %q is not one of %s%s",
					v, quoteList(eventEvaluationOrder), didYouMean(v, eventEvaluationOrder))
			}
			det.EventEvaluationOrder = v
		}
	}
	settings(f)
	for _, item := range items {
		g := d.fields(item, "correlation Detection item", correlationItemKeys)
		if !g.ok {
			continue
		}
		settings(g)
		hasSeq, hasGroup := g.oneOf("Sequence", "Group")
		ids := map[string]bool{}
		steps := func(k string) {
			list := g.seq(k)
			if len(list) == 0 && g.get(k) != nil && g.get(k).Kind == yaml.SequenceNode {
				d.errorf(g.vals[k], "%s must not be empty", k)
			}
			for _, st := range list {
				h := d.fields(st, k+" item", correlationStepKeys)
				if !h.ok {
					continue
				}
				id := h.reqStr("ID")
				if id != "" {
					if ids[id] {
						d.errorf(h.vals["ID"], "duplicate %s ID %q", k, id)
					}
					ids[id] = true
				}
				hasRule, hasSignal := h.has("RuleID"), h.has("SignalMatch")
				switch {
				case hasRule && hasSignal:
					d.errorf(h.keys["SignalMatch"], "only one of \"RuleID\" and \"SignalMatch\" may be set in %s item", k)
				case hasRule:
					h.reqStr("RuleID")
				case hasSignal:
					h.reqStr("SignalMatch")
				default:
					h.missing("RuleID")
				}
				lo, _ := h.integer("MinMatchCount", 1)
				if hi, ok := h.integer("MaxMatchCount", 1); ok && lo > hi {
					d.errorf(h.vals["MaxMatchCount"], "MaxMatchCount %d is less than MinMatchCount %d", hi, lo)
				}
				h.boolean("Absence", false)
			}
		}
		if hasSeq && !hasGroup {
			steps("Sequence")
			if g.has("MatchCriteria") {
				d.errorf(g.keys["MatchCriteria"], "MatchCriteria is for Group; a Sequence uses Transitions")
			}
			d.transitions(g, ids)
		}
		if hasGroup && !hasSeq {
			steps("Group")
			if g.has("Transitions") {
				d.errorf(g.keys["Transitions"], "Transitions are for Sequence; a Group uses MatchCriteria")
			}
			d.matchCriteria(g, ids)
		}
	}
	if !schedule {
		d.errorf(f.vals["Detection"], "correlation rule needs a Schedule (RateMinutes or CronExpression, and TimeoutMinutes)")
	}
}

// transitions checks the Transitions of a Sequence: each links two steps
// (From, To) by a Match of one field (On) or a pair of fields (From, To).
func (d *decoder) transitions(g *fieldset, ids map[string]bool) {
	for _, t := range g.seq("Transitions") {
		h := d.fields(t, "Transitions item", transitionKeys)
		if !h.ok {
			continue
		}
		h.str("ID")
		for _, k := range []string{"From", "To"} {
			if id := h.reqStr(k); id != "" && !ids[id] {
				d.errorf(h.vals[k], "%s %q names no Sequence ID%s", k, id, didYouMean(id, sortedKeys(ids)))
			}
		}
		h.integer("WithinTimeFrameMinutes", 1)
		if !h.has("Match") {
			continue // a transition may join nothing: order and time frame only
		}
		matches := h.seq("Match")
		if len(matches) == 0 && h.get("Match").Kind == yaml.SequenceNode {
			d.errorf(h.vals["Match"], "Match must not be empty")
		}
		for _, m := range matches {
			mf := d.fields(m, "Match item", transitionMatchKeys)
			if !mf.ok {
				continue
			}
			switch on, from, to := mf.has("On"), mf.has("From"), mf.has("To"); {
			case on && (from || to):
				d.errorf(mf.node, "Match item sets both On and From/To")
			case on:
				mf.reqStr("On")
			case from || to:
				mf.reqStr("From")
				mf.reqStr("To")
			default:
				d.errorf(mf.node, "Match item needs On, or From and To")
			}
		}
	}
}

// matchCriteria checks the MatchCriteria of a Group: each criterion lists
// {GroupID, Match} pairs naming group steps.
func (d *decoder) matchCriteria(g *fieldset, ids map[string]bool) {
	v := g.get("MatchCriteria")
	if v == nil {
		return
	}
	if v.Kind != yaml.MappingNode {
		g.typeError("MatchCriteria", "mapping")
		return
	}
	for _, p := range pairs(v) {
		name := keyString(p.key)
		l := resolve(p.value)
		if l.Kind != yaml.SequenceNode {
			d.errorf(l, "MatchCriteria.%s: expected list, got %s", name, describe(l))
			continue
		}
		for _, e := range l.Content {
			h := d.fields(e, "MatchCriteria item", matchCriterionKeys)
			if !h.ok {
				continue
			}
			if id := h.reqStr("GroupID"); id != "" && !ids[id] {
				d.errorf(h.vals["GroupID"], "GroupID %q names no Group ID%s", id, didYouMean(id, sortedKeys(ids)))
			}
			h.reqStr("Match")
		}
	}
}

// schedule reads a Schedule: exactly one of RateMinutes and CronExpression,
// and TimeoutMinutes. Queries follow Panther's rule that RateMinutes is more
// than 1 and at least TimeoutMinutes.
func (d *decoder) schedule(n *yaml.Node, query bool) *Schedule {
	f := d.fields(n, "Schedule", scheduleKeys)
	if !f.ok {
		return nil
	}
	s := &Schedule{}
	hasCron, hasRate := f.oneOf("CronExpression", "RateMinutes")
	if hasCron {
		s.CronExpression = f.reqStr("CronExpression")
	}
	if hasRate {
		s.RateMinutes, _ = f.integer("RateMinutes", 1)
	}
	if f.require("TimeoutMinutes") {
		s.TimeoutMinutes, _ = f.integer("TimeoutMinutes", 1)
	}
	if query && hasRate && !hasCron && s.RateMinutes > 0 {
		switch {
		case s.RateMinutes <= 1:
			d.errorf(f.vals["RateMinutes"], "RateMinutes must be greater than 1")
		case s.TimeoutMinutes > 0 && s.RateMinutes < s.TimeoutMinutes:
			d.errorf(f.vals["RateMinutes"], "RateMinutes (%d) must be at least TimeoutMinutes (%d)", s.RateMinutes, s.TimeoutMinutes)
		}
	}
	return s
}

// tests reads the Tests of a detection.
func (d *decoder) tests(f *fieldset, kind Kind) []Test {
	keys, logKey, typeKey := ruleTestKeys, "Log", "LogType"
	switch kind {
	case KindPolicy:
		keys, logKey, typeKey = policyTestKeys, "Resource", "ResourceType"
	case KindCorrelationRule:
		keys = correlationTestKeys
	}
	var tests []Test
	names := map[string]int{}
	for _, item := range f.seq("Tests") {
		tf := d.fields(item, "test", keys)
		if !tf.ok {
			continue
		}
		t := Test{Source: Source{d.file, tf.node.Line}}
		t.Name = tf.reqStr("Name")
		if first, dup := names[t.Name]; dup && t.Name != "" {
			d.errorf(tf.vals["Name"], "duplicate test name %q (first at line %d)", t.Name, first)
		} else if t.Name != "" {
			names[t.Name] = tf.node.Line
		}
		if tf.require("ExpectedResult") {
			t.ExpectedResult = tf.boolean("ExpectedResult", false)
		}
		if kind == KindCorrelationRule {
			t.RuleOutputs = d.ruleOutputs(tf)
			tests = append(tests, t)
			continue
		}
		if tf.require(logKey) {
			if v := tf.get(logKey); v.Kind != yaml.MappingNode {
				tf.typeError(logKey, "mapping")
			} else {
				t.Log = tf.json(logKey)
			}
		}
		t.LogType = tf.str(typeKey)
		for _, m := range tf.seq("Mocks") {
			mf := d.fields(m, "mock", mockKeys)
			if !mf.ok {
				continue
			}
			mock := Mock{ObjectName: mf.reqStr("objectName")}
			if mf.require("returnValue") {
				mock.ReturnValue = mf.json("returnValue")
			}
			t.Mocks = append(t.Mocks, mock)
		}
		t.ExpectedTitle = optStr(tf, "ExpectedTitle")
		t.ExpectedDedup = optStr(tf, "ExpectedDedup")
		if tf.has("ExpectedSeverity") {
			if s := tf.severity("ExpectedSeverity", false); s != "" {
				t.ExpectedSeverity = &s
			}
		}
		if tf.has("ExpectedAlertContext") {
			if v := tf.get("ExpectedAlertContext"); v.Kind != yaml.MappingNode {
				tf.typeError("ExpectedAlertContext", "mapping")
			} else {
				t.ExpectedAlertContext = tf.json("ExpectedAlertContext")
			}
		}
		tests = append(tests, t)
	}
	return tests
}

// ruleOutputs reads the RuleOutputs of a correlation test: the rule matches
// it feeds in, each {ID, Matches}.
func (d *decoder) ruleOutputs(tf *fieldset) any {
	if !tf.require("RuleOutputs") {
		return nil
	}
	for _, o := range tf.seq("RuleOutputs") {
		of := d.fields(o, "RuleOutputs item", ruleOutputKeys)
		if !of.ok {
			continue
		}
		of.reqStr("ID")
		if v := of.get("Matches"); v != nil && v.Kind != yaml.MappingNode {
			of.typeError("Matches", "mapping")
		}
	}
	return tf.raw("RuleOutputs")
}

// optStr returns a pointer to the string k, or nil when absent.
func optStr(f *fieldset, k string) *string {
	if !f.has(k) {
		return nil
	}
	s := f.str(k)
	if !isString(f.get(k)) {
		return nil
	}
	return &s
}

// global decodes a global helper module.
func (d *decoder) global(root *yaml.Node, s *spec) {
	f := d.fields(root, "global spec", globalKeys)
	g := &Global{Source: s.src}
	g.ID = s.setID(f, nsGlobal, "GlobalID")
	g.PythonFile = f.file("Filename", true)
	g.Description = f.str("Description")
	g.Tags = f.strList("Tags")
	s.item = g
}

// dataModel decodes a data model.
func (d *decoder) dataModel(root *yaml.Node, s *spec) {
	f := d.fields(root, "datamodel spec", dataModelKeys)
	m := &DataModel{Source: s.src}
	m.ID = s.setID(f, nsDataModel, "DataModelID")
	m.DisplayName = f.str("DisplayName")
	if f.require("Enabled") {
		m.Enabled = f.boolean("Enabled", false)
	}
	m.PythonFile = f.file("Filename", false)
	if f.require("LogTypes") {
		m.LogTypes = f.strList("LogTypes")
		s.logTypesLine = f.line("LogTypes")
		if v := f.get("LogTypes"); v.Kind == yaml.SequenceNode && len(v.Content) != 1 {
			d.errorf(f.vals["LogTypes"], "LogTypes of a data model must list exactly one log type, got %d", len(v.Content))
		}
	}
	f.require("Mappings")
	names := map[string]int{}
	for _, item := range f.seq("Mappings") {
		mf := d.fields(item, "Mappings item", mappingKeys)
		if !mf.ok {
			continue
		}
		mp := Mapping{Name: mf.reqStr("Name")}
		if first, dup := names[mp.Name]; dup && mp.Name != "" {
			d.errorf(mf.vals["Name"], "duplicate mapping Name %q (first at line %d)", mp.Name, first)
		} else if mp.Name != "" {
			names[mp.Name] = mf.node.Line
		}
		hasPath, hasMethod := mf.oneOf("Path", "Method")
		if hasPath && !hasMethod {
			mp.Path = mf.reqStr("Path")
		}
		if hasMethod && !hasPath {
			mp.Method = mf.reqStr("Method")
			if !f.has("Filename") {
				d.errorf(mf.vals["Method"], "Method %q needs the data model's Filename (the .py defining it)", mp.Method)
			}
		}
		m.Mappings = append(m.Mappings, mp)
	}
	s.item = m
}

// pack decodes a pack.
func (d *decoder) pack(root *yaml.Node, s *spec) {
	f := d.fields(root, "pack spec", packKeys)
	p := &Pack{Source: s.src}
	p.ID = s.setID(f, nsPack, "PackID")
	p.Description = f.str("Description")
	p.DisplayName = f.str("DisplayName")
	if f.require("PackDefinition") {
		pd := d.fields(f.vals["PackDefinition"], "PackDefinition", packDefKeys)
		if pd.require("IDs") {
			p.IDs = pd.strList("IDs")
			if v := pd.get("IDs"); v.Kind == yaml.SequenceNode {
				for _, e := range v.Content {
					if e = resolve(e); isString(e) {
						s.packIDs = append(s.packIDs, ref{e.Value, e.Line})
					}
				}
			}
		}
	}
	s.item = p
}

// query decodes a scheduled or saved query.
func (d *decoder) query(root *yaml.Node, s *spec) {
	keys := savedQueryKeys
	if s.kind == KindScheduledQuery {
		keys = scheduledQueryKeys
	}
	f := d.fields(root, string(s.kind)+" spec", keys)
	q := &Query{Kind: s.kind, Source: s.src}
	q.Name = s.setID(f, nsQuery, "QueryName")
	if s.kind == KindScheduledQuery {
		f.require("Enabled")
	}
	q.Enabled = f.boolean("Enabled", true)
	q.Description = f.str("Description")
	q.Tags = f.strList("Tags")
	found := false
	for _, k := range querySQLKeys {
		if !f.has(k) || !slices.Contains(keys, k) {
			continue
		}
		found = true
		if sql := f.reqStr(k); q.SQL == "" {
			q.SQL = sql
		}
	}
	if !found && f.ok {
		d.errorf(root, "%s needs one of \"Query\", \"SnowflakeQuery\", \"AthenaQuery\" or \"DatabricksQuery\"", f.what)
	}
	q.Lookback = f.boolean("Lookback", false)
	q.LookbackWindowSeconds, _ = f.integer("LookbackWindowSeconds", 0)
	if s.kind == KindScheduledQuery {
		if f.require("Schedule") {
			q.Schedule = d.schedule(f.vals["Schedule"], true)
		}
		if f.has("EmailConfig") {
			ef := d.fields(f.vals["EmailConfig"], "EmailConfig", emailConfigKeys)
			ef.strList("Recipients")
			ef.boolean("SendEmpty", false)
			ef.boolean("PreferAttachment", false)
		}
	}
	s.item = q
}

// lookupTable decodes a lookup table spec; prowl keeps it raw.
func (d *decoder) lookupTable(root *yaml.Node, s *spec) {
	f := d.fields(root, "lookup_table spec", lookupTableKeys)
	t := &LookupTable{Source: s.src}
	t.Name = s.setID(f, nsLookupTable, "LookupName")
	if f.require("Enabled") {
		t.Enabled = f.boolean("Enabled", false)
	}
	f.str("Schema")
	f.str("Description")
	f.str("Reference")
	for _, k := range querySQLKeys {
		f.str(k)
	}
	f.file("Filename", false)
	if f.has("Refresh") {
		rf := d.fields(f.vals["Refresh"], "Refresh", refreshKeys)
		rf.str("RoleARN")
		rf.str("ObjectPath")
		rf.str("ObjectKMSKey")
		rf.integer("PeriodMinutes", 1)
		rf.integer("AlarmPeriodMinutes", 1)
	}
	if f.require("LogTypeMap") {
		lf := d.fields(f.vals["LogTypeMap"], "LogTypeMap", logTypeMapKeys)
		lf.reqStr("PrimaryKey")
		lf.require("AssociatedLogTypes")
		for _, a := range lf.seq("AssociatedLogTypes") {
			af := d.fields(a, "AssociatedLogTypes item", associatedLogTypeKeys)
			af.reqStr("LogType")
			af.strList("Selectors")
		}
	}
	t.Raw = d.rawSpec(root)
	s.item = t
}

// rawSpec returns the whole spec as a Go map.
func (d *decoder) rawSpec(root *yaml.Node) map[string]any {
	v, err := toValue(root)
	if err != nil {
		d.errorf(root, "%v", err)
		return nil
	}
	m, _ := v.(map[string]any)
	return m
}

// hasKey reports whether mapping n has key k.
func hasKey(n *yaml.Node, k string) bool {
	for _, p := range pairs(n) {
		if keyString(p.key) == k {
			return true
		}
	}
	return false
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
