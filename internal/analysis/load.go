package analysis

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/prowl-siem/prowl/internal/suggest"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Options control Load.
type Options struct {
	// IgnoreFiles are glob patterns (filepath.Match syntax). A file or
	// directory is skipped when a pattern matches its path relative to the
	// directory being walked, its path as walked, or its base name. A
	// leading "./" is ignored.
	IgnoreFiles []string
	// IgnoreExtraKeys makes unknown keys acceptable instead of problems.
	IgnoreExtraKeys bool
}

// Load reads every .yml/.yaml analysis spec under paths: directories are
// walked recursively (skipping hidden directories and node_modules), files
// are read as given. In a directory, YAML files that are not analysis specs
// (no AnalysisType key) are skipped silently, unless they look like a spec
// that lost its AnalysisType.
//
// Load returns the repo of every valid spec. When anything is wrong it also
// returns a *Problems error listing all problems, sorted by file and line; a
// spec with a problem is left out of the repo, the others still load.
func Load(paths []string, opts Options) (*Repo, error) {
	l := &loader{opts: opts, seen: map[string]bool{}}
	for i, p := range opts.IgnoreFiles {
		if _, err := filepath.Match(p, ""); err != nil {
			l.probs = append(l.probs, Problem{Message: fmt.Sprintf("IgnoreFiles[%d] %q: %v", i, p, err)})
		}
	}
	for _, p := range paths {
		l.addPath(p)
	}
	repo := l.link()
	if len(l.probs) > 0 {
		ps := l.probs.normalize()
		return repo, &ps
	}
	return repo, nil
}

// loader holds the state of one Load.
type loader struct {
	opts  Options
	seen  map[string]bool // absolute paths of files read
	specs []*spec         // in load order
	probs Problems
}

func (l *loader) problem(file string, line int, format string, args ...any) {
	l.probs = append(l.probs, Problem{Source{file, line}, fmt.Sprintf(format, args...)})
}

// addPath loads one path given to Load.
func (l *loader) addPath(root string) {
	st, err := os.Stat(root)
	if err != nil {
		l.problem(root, 0, "%v", unwrapPathError(err))
		return
	}
	if !st.IsDir() {
		if l.ignored(root, filepath.Base(root)) {
			return
		}
		if !isYAML(root) {
			l.problem(root, 0, "not a YAML file (.yml or .yaml)")
			return
		}
		l.addFile(root, true)
		return
	}
	err = filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			l.problem(path, 0, "%v", unwrapPathError(err))
			if de != nil && de.IsDir() && path != root {
				return fs.SkipDir
			}
			return nil
		}
		if path == root {
			return nil
		}
		name := de.Name()
		rel, _ := filepath.Rel(root, path)
		if de.IsDir() {
			if strings.HasPrefix(name, ".") || name == "node_modules" || name == "__pycache__" || l.ignored(path, rel) {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(name, ".") || !isYAML(name) || l.ignored(path, rel) {
			return nil
		}
		l.addFile(path, false)
		return nil
	})
	if err != nil {
		l.problem(root, 0, "%v", err)
	}
}

// ignored reports whether an IgnoreFiles pattern matches any of the paths or
// the base name of the first.
func (l *loader) ignored(paths ...string) bool {
	if len(l.opts.IgnoreFiles) == 0 {
		return false
	}
	cands := []string{filepath.Base(paths[0])}
	for _, p := range paths {
		cands = append(cands, filepath.Clean(p))
	}
	for _, pat := range l.opts.IgnoreFiles {
		pat = filepath.Clean(filepath.FromSlash(pat))
		for _, c := range cands {
			if ok, _ := filepath.Match(pat, c); ok {
				return true
			}
		}
	}
	return false
}

func isYAML(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yml" || ext == ".yaml"
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserErrors start the messages of yaml.v3 parser (not scanner)
// errors, whose line numbers are one too low.
var yamlParserErrors = []string{
	"did not find expected node content",
	"did not find expected key",
	"did not find expected <document start>",
	"did not find expected ',' or",
	"did not find expected '-' indicator",
}

// yamlErrorLocation splits a yaml.v3 error into the 1-based line (0 when
// unknown) and the message, correcting the line of parser errors and
// keeping it within the file.
func yamlErrorLocation(err error, data []byte) (int, string) {
	m := yamlErrorLine.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, strings.TrimPrefix(err.Error(), "yaml: ")
	}
	line, _ := strconv.Atoi(m[1])
	for _, p := range yamlParserErrors {
		if strings.HasPrefix(m[2], p) {
			line++
			break
		}
	}
	if n := bytes.Count(bytes.TrimRight(data, "\n"), []byte("\n")) + 1; line > n {
		line = n
	}
	return line, m[2]
}

// addFile reads one YAML file. explicit files (named in Load's paths) must
// be specs; files found by walking are skipped when they are not.
func (l *loader) addFile(path string, explicit bool) {
	if abs, err := filepath.Abs(path); err == nil {
		if l.seen[abs] {
			return
		}
		l.seen[abs] = true
	}
	data, err := os.ReadFile(path)
	if err != nil {
		l.problem(path, 0, "%v", unwrapPathError(err))
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			if explicit {
				l.problem(path, 0, "empty file: no analysis spec")
			}
		case explicit || looksLikeSpec(data):
			line, msg := yamlErrorLocation(err, data)
			l.problem(path, line, "invalid YAML: %s", msg)
		}
		return
	}
	root := resolve(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = resolve(root.Content[0])
	}
	if root.Kind != yaml.MappingNode {
		if explicit {
			l.problem(path, root.Line, "not an analysis spec: expected a mapping with AnalysisType, got %s", describe(root))
		}
		return
	}
	if !hasKey(root, "AnalysisType") {
		l.notSpec(path, root, explicit)
		return
	}

	d := &decoder{file: path, dir: filepath.Dir(path), ignoreExtra: l.opts.IgnoreExtraKeys}
	duplicateKeys(root, func(k *yaml.Node, first int) {
		d.errorf(k, "duplicate key %q (first at line %d)", keyString(k), first)
	})
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		d.errorf(&next, "more than one YAML document: a spec file holds one spec")
	} else if !errors.Is(err, io.EOF) {
		line, msg := yamlErrorLocation(err, data)
		d.errorf(&yaml.Node{Line: line}, "invalid YAML: %s", msg)
	}
	s := d.decodeSpec(root)
	if len(d.probs) > 0 {
		s.item = nil
		l.probs = append(l.probs, d.probs...)
	}
	l.specs = append(l.specs, s)
}

// notSpec handles a YAML mapping without AnalysisType: a problem when it
// looks like a spec (a key close to AnalysisType, a key only specs have, or
// a file named explicitly), otherwise nothing.
func (l *loader) notSpec(path string, root *yaml.Node, explicit bool) {
	for _, p := range pairs(root) {
		k := keyString(p.key)
		if suggest.Closest(k, []string{"AnalysisType"}) != "" {
			l.problem(path, p.key.Line, "unknown key %q%s", k, didYouMean(k, []string{"AnalysisType"}))
			return
		}
	}
	marker := explicit
	for _, k := range specMarkers {
		marker = marker || hasKey(root, k)
	}
	if marker {
		l.problem(path, root.Line, "missing AnalysisType: must be one of %s", quoteList(kindStrings()))
	}
}

// looksLikeSpec reports whether the text of a YAML file that does not parse
// mentions a key only analysis specs have.
func looksLikeSpec(data []byte) bool {
	if bytes.Contains(data, []byte("AnalysisType")) {
		return true
	}
	for _, k := range specMarkers {
		if bytes.Contains(data, []byte(k+":")) {
			return true
		}
	}
	return false
}

func kindStrings() []string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return names
}

// link checks the specs against each other (unique IDs, references to
// queries, base detections and pack members, one enabled data model per log
// type), resolves derived detections and builds the repo from the valid
// specs.
func (l *loader) link() *Repo {
	// IDs of every spec, valid or not: a reference to an invalid spec is
	// reported at the spec, not again at each reference.
	declared := map[string]map[string]bool{}
	first := map[string]map[string]*spec{}
	for _, s := range l.specs {
		if s.id == "" || s.ns == "" {
			continue
		}
		if declared[s.ns] == nil {
			declared[s.ns], first[s.ns] = map[string]bool{}, map[string]*spec{}
		}
		declared[s.ns][s.id] = true
		if f, dup := first[s.ns][s.id]; dup {
			l.exclude(s, s.idLn, "duplicate %s %q: already defined in %s", s.idKey, s.id, f.where())
			continue
		}
		first[s.ns][s.id] = s
	}

	// Scheduled rules must name known queries.
	for _, s := range l.specs {
		for _, q := range s.queries {
			if s.item != nil && !declared[nsQuery][q.id] {
				l.exclude(s, q.line, "ScheduledQueries: no saved or scheduled query named %q%s",
					q.id, didYouMean(q.id, sortedKeys(declared[nsQuery])))
			}
		}
	}

	l.resolveDerived(declared[nsDetection])

	// One enabled data model per log type.
	enabledModels := map[string]*spec{}
	for _, s := range l.specs {
		m, ok := s.item.(*DataModel)
		if !ok || !m.Enabled {
			continue
		}
		for _, lt := range m.LogTypes {
			if f, dup := enabledModels[lt]; dup {
				l.exclude(s, s.logTypesLine, "log type %q already has an enabled data model: %q in %s",
					lt, f.id, f.where())
				continue
			}
			enabledModels[lt] = s
		}
	}

	// Packs must name loaded specs.
	var all []string
	for _, ids := range declared {
		all = append(all, sortedKeys(ids)...)
	}
	slices.Sort(all)
	for _, s := range l.specs {
		if s.item == nil {
			continue
		}
		for _, r := range s.packIDs {
			if _, found := slices.BinarySearch(all, r.id); !found {
				l.exclude(s, r.line, "PackDefinition IDs: %q names nothing loaded%s",
					r.id, didYouMean(r.id, all))
			}
		}
	}

	repo := &Repo{}
	for _, s := range l.specs {
		switch it := s.item.(type) {
		case *Detection:
			repo.Detections = append(repo.Detections, it)
		case *Global:
			repo.Globals = append(repo.Globals, it)
		case *DataModel:
			repo.DataModels = append(repo.DataModels, it)
		case *Pack:
			repo.Packs = append(repo.Packs, it)
		case *Query:
			repo.Queries = append(repo.Queries, it)
		case *LookupTable:
			repo.LookupTables = append(repo.LookupTables, it)
		}
	}
	return repo
}

// exclude records a problem with s and leaves it out of the repo.
func (l *loader) exclude(s *spec, line int, format string, args ...any) {
	l.problem(s.src.File, line, format, args...)
	s.item = nil
}

// where locates a spec for messages: "file:line".
func (s *spec) where() string {
	return fmt.Sprintf("%s:%d", s.src.File, s.idLn)
}

// resolveDerived turns each derived detection into a copy of its base with
// the derived spec's settings applied. declared holds every detection ID,
// valid or not.
func (l *loader) resolveDerived(declared map[string]bool) {
	byID := map[string]*spec{}
	for _, s := range l.specs {
		if _, ok := s.item.(*Detection); ok {
			byID[s.id] = s
		}
	}
	const (
		visiting = iota + 1
		done
	)
	state := map[*spec]int{}
	var resolve func(s *spec) bool
	resolve = func(s *spec) bool {
		det, ok := s.item.(*Detection)
		if !ok {
			return false
		}
		if det.BaseDetection == "" {
			return true
		}
		switch state[s] {
		case visiting:
			l.exclude(s, s.base.line, "BaseDetection %q: derived detections form a cycle", det.BaseDetection)
			return false
		case done:
			return s.item != nil
		}
		state[s] = visiting
		defer func() { state[s] = done }()
		base := byID[det.BaseDetection]
		switch {
		case base == nil && declared[det.BaseDetection]:
			l.exclude(s, s.base.line, "BaseDetection %q could not be loaded (see its problems)", det.BaseDetection)
			return false
		case base == nil:
			l.exclude(s, s.base.line, "BaseDetection %q: no such detection%s",
				det.BaseDetection, didYouMean(det.BaseDetection, sortedKeys(declared)))
			return false
		case !resolve(base):
			if s.item != nil {
				l.exclude(s, s.base.line, "BaseDetection %q could not be loaded (see its problems)", det.BaseDetection)
			}
			return false
		}
		b := base.item.(*Detection)
		if b.Kind != KindRule && b.Kind != KindScheduledRule {
			l.exclude(s, s.base.line, "BaseDetection %q is a %s; only rules and scheduled rules can be derived from", b.ID, b.Kind)
			return false
		}
		s.item = derive(b, det)
		return true
	}
	for _, s := range l.specs {
		resolve(s)
	}
}

// derivedFields copy each key a derived detection may set from the derived
// spec to the result.
var derivedFields = map[string]func(dst, src *Detection){
	"Enabled":              func(dst, src *Detection) { dst.Enabled = src.Enabled },
	"Severity":             func(dst, src *Detection) { dst.Severity = src.Severity },
	"Description":          func(dst, src *Detection) { dst.Description = src.Description },
	"DedupPeriodMinutes":   func(dst, src *Detection) { dst.DedupPeriodMinutes = src.DedupPeriodMinutes },
	"InlineFilters":        func(dst, src *Detection) { dst.InlineFilters = src.InlineFilters },
	"DisplayName":          func(dst, src *Detection) { dst.DisplayName = src.DisplayName },
	"OnlyUseBaseRiskScore": func(dst, src *Detection) { dst.OnlyUseBaseRisk = src.OnlyUseBaseRisk },
	"OutputIds":            func(dst, src *Detection) { dst.OutputIDs = src.OutputIDs },
	"Reference":            func(dst, src *Detection) { dst.Reference = src.Reference },
	"Runbook":              func(dst, src *Detection) { dst.Runbook = src.Runbook },
	"SummaryAttributes":    func(dst, src *Detection) { dst.SummaryAttributes = src.SummaryAttributes },
	"Threshold":            func(dst, src *Detection) { dst.Threshold = src.Threshold },
	"Tags":                 func(dst, src *Detection) { dst.Tags = src.Tags },
	"Reports":              func(dst, src *Detection) { dst.Reports = src.Reports },
	"DynamicSeverities":    func(dst, src *Detection) { dst.DynamicSeverities = src.DynamicSeverities },
	"AlertTitle":           func(dst, src *Detection) { dst.AlertTitle = src.AlertTitle },
	"AlertContext":         func(dst, src *Detection) { dst.AlertContext = src.AlertContext },
	"GroupBy":              func(dst, src *Detection) { dst.GroupBy = src.GroupBy },
	"Tests":                func(dst, src *Detection) { dst.Tests = src.Tests },
	"CreateAlert":          func(dst, src *Detection) { dst.CreateAlert = src.CreateAlert },
	"Status":               func(dst, src *Detection) { dst.Status = src.Status },
	"CreatedBy":            func(dst, src *Detection) { dst.CreatedBy = src.CreatedBy },
}

// derive returns a copy of base with the settings written in the derived
// spec d applied. The result keeps d's identity (ID, Source,
// BaseDetection, Raw) and, when d has no Tests, runs base's tests.
func derive(base, d *Detection) *Detection {
	out := *base
	out.ID, out.Source, out.BaseDetection, out.Raw = d.ID, d.Source, d.BaseDetection, d.Raw
	out.LogTypes = slices.Clone(base.LogTypes)
	out.ScheduledQueries = slices.Clone(base.ScheduledQueries)
	out.OutputIDs = slices.Clone(base.OutputIDs)
	out.Tags = slices.Clone(base.Tags)
	out.SummaryAttributes = slices.Clone(base.SummaryAttributes)
	out.Tests = slices.Clone(base.Tests)
	for k, set := range derivedFields {
		if _, ok := d.Raw[k]; ok {
			set(&out, d)
		}
	}
	return &out
}

// LoadLenient is Load for callers that go on with the valid specs: spec
// problems come back as a list, and err is only for failures that stopped
// loading altogether (an unreadable path, say).
func LoadLenient(paths []string, opts Options) (*Repo, Problems, error) {
	repo, err := Load(paths, opts)
	var ps *Problems
	if errors.As(err, &ps) {
		return repo, *ps, nil
	}
	return repo, nil, err
}
