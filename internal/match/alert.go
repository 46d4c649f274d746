package match

import (
	"encoding/json"
	"fmt"
	"iter"
	"strings"
	"unicode/utf8"

	"github.com/prowl-siem/prowl/internal/jsondec"
)

// AlertSpec holds the alert keys of a simple detection, as decoded from YAML.
type AlertSpec struct {
	Title             string // AlertTitle template; "" for the default title
	Context           any    // AlertContext: [{KeyName, KeyValue: keyspec}]
	GroupBy           any    // GroupBy: [keyspec]
	DynamicSeverities any    // DynamicSeverities: [{ChangeTo, Conditions}]
	Severity          string // the default severity (any case; "" allowed)
	RuleID            string
	DisplayName       string
}

// AlertOutput is what an alert carries for one matching event.
type AlertOutput struct {
	Title    string
	Dedup    string
	Severity string         // upper case
	Context  map[string]any // never nil; values are shared with the event
}

// Alert is the compiled alert keys of a simple detection. It is safe for
// concurrent use.
type Alert struct {
	title        []titlePart // nil without AlertTitle
	defaultTitle string
	ruleID       string
	groupBy      []*source
	context      []contextEntry
	severities   []dynamicSeverity
	severity     string
	reads        jsondec.Selection
}

type titlePart struct {
	lit  string
	path *keyPath // nil for literal text
}

type contextEntry struct {
	name string
	src  *source
}

type dynamicSeverity struct {
	severity string // upper case, or "" for the default
	matcher  *Matcher
}

// Limits of generated alert fields, as in Panther's Python engine.
const (
	maxFieldSize        = 1000
	maxAlertContextSize = 200 * 1024
	truncatedSuffix     = "... (truncated)"
	dedupSeparator      = ":"
)

var (
	severityNames = []string{"Info", "Low", "Medium", "High", "Critical"}
	changeToNames = []string{"Info", "Low", "Medium", "High", "Critical", "DEFAULT"}
)

// normSeverity returns the upper-case severity, or ok=false.
func normSeverity(s string) (string, bool) {
	for _, n := range severityNames {
		if strings.EqualFold(s, n) {
			return strings.ToUpper(n), true
		}
	}
	return "", false
}

// CompileAlert validates and compiles the alert keys of a simple detection.
//
//   - AlertTitle interpolates {path} with the event value at path (KeyPath
//     syntax: {actor.alternateId}, {target[0].id}); {{ and }} are literal
//     braces. An absent or null value renders as "", a wildcard path as its
//     values joined with ", ", lists and mappings as JSON. Without
//     AlertTitle the title is DisplayName, else RuleID.
//   - GroupBy values (rendered as in titles) joined with ":" form the dedup
//     string. Without GroupBy, or when it renders empty, the dedup string is
//     the title if AlertTitle is set, else "defaultDedupString:<RuleID>", as
//     for Python rules without dedup().
//   - AlertContext maps each KeyName to the value at KeyValue (null when
//     absent; a list for wildcard paths).
//   - DynamicSeverities: the ChangeTo of the first entry whose Conditions
//     match, else Severity. ChangeTo may be "DEFAULT" (the default severity).
//
// Titles and dedup strings are cut to 1000 characters, and an alert context
// over 200 KiB of JSON is replaced by an "_error" entry, like Panther's
// Python engine.
func CompileAlert(spec AlertSpec) (*Alert, error) {
	sink := &errorSink{}
	a := &Alert{ruleID: spec.RuleID, defaultTitle: spec.DisplayName}
	if a.defaultTitle == "" {
		a.defaultTitle = spec.RuleID
	}
	if spec.Severity != "" {
		sev, ok := normSeverity(spec.Severity)
		if !ok {
			sink.fail("Severity", "unknown severity %q%s", spec.Severity, didYouMean(spec.Severity, severityNames))
		}
		a.severity = sev
	}
	if spec.Title != "" {
		parts, err := parseTitle(spec.Title)
		if err != nil {
			sink.fail("AlertTitle", "%v", err)
		}
		a.title = parts
	}
	if spec.GroupBy != nil {
		a.groupBy = compileKeySpecs(sink, "GroupBy", spec.GroupBy)
	}
	if spec.Context != nil {
		a.context = compileContext(sink, "AlertContext", spec.Context)
	}
	if spec.DynamicSeverities != nil {
		a.severities = compileDynamicSeverities(sink, "DynamicSeverities", spec.DynamicSeverities)
	}
	if err := sink.err(); err != nil {
		return nil, err
	}
	for _, p := range a.title {
		if p.path != nil {
			readPath(&a.reads, p.path)
		}
	}
	readSpec(&a.reads, []any{spec.GroupBy, spec.Context, spec.DynamicSeverities}, false)
	return a, nil
}

// Reads is what Evaluate may read of an event: on the event decoded with
// it (jsondec.DecodeSelected), Evaluate gives what it gives on the whole
// event.
func (a *Alert) Reads() *jsondec.Selection { return &a.reads }

// Evaluate computes the alert fields for an event that matched.
func (a *Alert) Evaluate(event map[string]any) AlertOutput {
	out := AlertOutput{Severity: a.severity}
	if a.title != nil {
		out.Title = truncate(a.renderTitle(event))
	} else {
		out.Title = truncate(a.defaultTitle)
	}
	if len(a.groupBy) > 0 {
		parts := make([]string, len(a.groupBy))
		empty := true
		for i, src := range a.groupBy {
			v, _ := src.value(event, event)
			parts[i] = renderJoined(v, src.path.multi)
			empty = empty && parts[i] == ""
		}
		if !empty {
			out.Dedup = strings.Join(parts, dedupSeparator)
		}
	}
	if out.Dedup == "" {
		if a.title != nil {
			out.Dedup = out.Title
		} else {
			out.Dedup = "defaultDedupString:" + a.ruleID
		}
	}
	out.Dedup = truncate(out.Dedup)
	for _, ds := range a.severities {
		if ds.matcher.Match(event) {
			if ds.severity != "" {
				out.Severity = ds.severity
			}
			break
		}
	}
	out.Context = make(map[string]any, len(a.context))
	for _, ce := range a.context {
		v, _ := ce.src.value(event, event)
		out.Context[ce.name] = v
	}
	if len(a.context) > 0 {
		if b, err := json.Marshal(out.Context); err != nil {
			out.Context = map[string]any{"_error": fmt.Sprintf("alert_context is not serializable: %v", err)}
		} else if n := utf8.RuneCount(b); n > maxAlertContextSize {
			out.Context = map[string]any{"_error": fmt.Sprintf("alert_context size is [%d] characters, bigger than maximum of [%d] characters", n, maxAlertContextSize)}
		}
	}
	return out
}

func (a *Alert) renderTitle(event map[string]any) string {
	var b strings.Builder
	for _, p := range a.title {
		if p.path == nil {
			b.WriteString(p.lit)
			continue
		}
		src := source{path: p.path}
		v, _ := src.value(event, event)
		b.WriteString(renderJoined(v, p.path.multi))
	}
	return b.String()
}

// renderJoined renders a value, or the values of a wildcard path joined with
// ", ".
func renderJoined(v any, multi bool) string {
	if !multi {
		return render(v)
	}
	vals, _ := v.([]any)
	parts := make([]string, len(vals))
	for i, x := range vals {
		parts[i] = render(x)
	}
	return strings.Join(parts, ", ")
}

// truncate cuts s to maxFieldSize characters, ending with truncatedSuffix.
func truncate(s string) string {
	if utf8.RuneCountInString(s) <= maxFieldSize {
		return s
	}
	keep := maxFieldSize - utf8.RuneCountInString(truncatedSuffix)
	i := 0
	for n := 0; n < keep; n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + truncatedSuffix
}

// parseTitle splits an AlertTitle into literal text and {path} references.
func parseTitle(t string) ([]titlePart, error) {
	parts := []titlePart{}
	var lit strings.Builder
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '{' && i+1 < len(t) && t[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(t) && t[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(t[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed \"{\" at offset %d (write {{ for a literal brace)", i)
			}
			ref := strings.TrimSpace(t[i+1 : i+1+end])
			if ref == "" {
				return nil, fmt.Errorf("empty {} at offset %d (write {{}} for literal braces)", i)
			}
			p, err := parseKeyPath(ref)
			if err != nil {
				return nil, fmt.Errorf("invalid field {%s} at offset %d: %v", ref, i, err)
			}
			if lit.Len() > 0 {
				parts = append(parts, titlePart{lit: lit.String()})
				lit.Reset()
			}
			parts = append(parts, titlePart{path: p})
			i += end + 1
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, titlePart{lit: lit.String()})
	}
	return parts, nil
}

// compileKeySpecs compiles a list of key specifiers (GroupBy).
func compileKeySpecs(sink *errorSink, path string, v any) []*source {
	var out []*source
	for i, x := range nonEmptyList(sink, path, v, "key specifiers such as {KeyPath: a.b}") {
		if src := compileKeySpec(sink, indexPath(path, i), x); src != nil {
			out = append(out, src)
		}
	}
	return out
}

// compileKeySpec compiles a mapping holding exactly one key specifier.
func compileKeySpec(sink *errorSink, path string, v any) *source {
	m, ok := asMap(v)
	if !ok {
		sink.fail(path, "expected a key specifier such as {KeyPath: a.b}, got %s", describe(v))
		return nil
	}
	for _, k := range sortedKeys(m) {
		if !contains(keySpecNames, k) {
			sink.fail(path, "unknown key %q%s", k, didYouMean(k, keySpecNames))
			return nil
		}
	}
	src, present := compileSource(sink, path, m)
	if !present {
		sink.fail(path, "expected a key specifier (Key, DeepKey, KeyPath or Enrichment)")
	}
	return src
}

// nonEmptyList returns the items of v, or nil after reporting that v is not a
// non-empty list of what.
func nonEmptyList(sink *errorSink, path string, v any, what string) []any {
	l, ok := asList(v)
	if !ok || len(l) == 0 {
		sink.fail(path, "must be a non-empty list of %s, got %s", what, describe(v))
		return nil
	}
	return l
}

// mappings yields the path and value of each item of v, a non-empty list of
// mappings written as what in messages (such as "{KeyName, KeyValue}"). A v
// that is not such a list, and items that are not mappings, are reported.
func mappings(sink *errorSink, path string, v any, what string) iter.Seq2[string, map[string]any] {
	return func(yield func(string, map[string]any) bool) {
		for i, x := range nonEmptyList(sink, path, v, what) {
			p := indexPath(path, i)
			m, ok := asMap(x)
			if !ok {
				sink.fail(p, "expected %s, got %s", what, describe(x))
				continue
			}
			if !yield(p, m) {
				return
			}
		}
	}
}

var contextKeys = []string{"KeyName", "KeyValue"}

func compileContext(sink *errorSink, path string, v any) []contextEntry {
	var out []contextEntry
	seen := map[string]bool{}
	for p, m := range mappings(sink, path, v, "{KeyName, KeyValue}") {
		bad := unknownKeys(sink, p, m, contextKeys)
		name, ok := m["KeyName"].(string)
		if !ok || name == "" {
			if _, present := m["KeyName"]; present {
				sink.fail(p, "KeyName must be a non-empty string, got %s", describe(m["KeyName"]))
			} else {
				sink.fail(p, "missing KeyName")
			}
			bad = true
		} else if seen[name] {
			sink.fail(p, "duplicate KeyName %q", name)
			bad = true
		}
		seen[name] = true
		kv, present := m["KeyValue"]
		if !present {
			sink.fail(p, "missing KeyValue")
			continue
		}
		src := compileKeySpec(sink, p+".KeyValue", kv)
		if src != nil && !bad {
			out = append(out, contextEntry{name: name, src: src})
		}
	}
	return out
}

var dynamicSeverityKeys = []string{"ChangeTo", "Conditions"}

func compileDynamicSeverities(sink *errorSink, path string, v any) []dynamicSeverity {
	var out []dynamicSeverity
	for p, m := range mappings(sink, path, v, "{ChangeTo, Conditions}") {
		unknownKeys(sink, p, m, dynamicSeverityKeys)
		var sev string
		switch to := m["ChangeTo"].(type) {
		case string:
			if strings.EqualFold(to, "DEFAULT") {
				break
			}
			s, ok := normSeverity(to)
			if !ok {
				sink.fail(p, "unknown ChangeTo severity %q%s", to, didYouMean(to, changeToNames))
			}
			sev = s
		case nil:
			if _, present := m["ChangeTo"]; !present {
				sink.fail(p, "missing ChangeTo")
				break
			}
			sink.fail(p, "ChangeTo must be a severity, got null")
		default:
			sink.fail(p, "ChangeTo must be a severity, got %s", describe(to))
		}
		conds, present := m["Conditions"]
		if !present {
			sink.fail(p, "missing Conditions")
			continue
		}
		c := &compiler{errorSink: errorSink{}}
		nodes := c.list(p+".Conditions", conds, 0, false)
		for _, e := range c.errs {
			if len(sink.errs) < maxErrors {
				sink.errs = append(sink.errs, e)
			}
		}
		out = append(out, dynamicSeverity{severity: sev, matcher: &Matcher{nodes: nodes}})
	}
	return out
}
