package logtypes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file proposes a schema from sample events (prowl schema infer) and
// writes schemas back as YAML.

// Inferrer accumulates sample events and proposes a schema for them: field
// types, timestamps recognised by their format, an event-time field, and
// indicators for values that look like IP addresses, emails, domains, URLs
// or hashes. The proposal is a starting point for a person to review.
type Inferrer struct {
	root   *inode
	events int
}

// inode is what the samples showed at one place in the events.
type inode struct {
	name                             string
	nulls, bools, strs, ints, floats int
	objs, arrs                       int
	timeFmts                         uint64 // candidate string time formats still matching every string
	unixUnits                        uint8  // candidate epoch units still matching every number
	inds                             uint16 // candidate indicators still matching every string
	fields                           []*inode
	index                            map[string]*inode
	elem                             *inode
}

// inferTimeFormats are the string time formats inference recognises, in
// order of preference.
var inferTimeFormats = []string{
	TimeRFC3339,
	"%d/%b/%Y:%H:%M:%S %z",
	"%Y/%m/%d %H:%M:%S",
	"%m/%d/%Y %H:%M:%S",
	"%a, %d %b %Y %H:%M:%S %Z",
	"%a, %d %b %Y %H:%M:%S %z",
	"%b %d %Y %H:%M:%S",
	"%Y%m%dT%H%M%SZ",
}

var compiledInferFormats = func() []*timeFormat {
	out := make([]*timeFormat, len(inferTimeFormats))
	for i, f := range inferTimeFormats {
		tf, err := compileTimeFormat(f)
		if err != nil {
			panic(err)
		}
		out[i] = tf
	}
	return out
}()

// Epoch units inference recognises, by the range of plausible values
// (years 2000 to 2100).
var inferUnits = []struct {
	format   string
	min, max float64
}{
	{TimeUnix, 946684800, 4102444800},
	{TimeUnixMs, 946684800e3, 4102444800e3},
	{TimeUnixUs, 946684800e6, 4102444800e6},
	{TimeUnixNs, 946684800e9, 4102444800e9},
}

// Indicator guesses.
const (
	guessIP = 1 << iota
	guessEmail
	guessURL
	guessDomain
	guessMD5
	guessSHA1
	guessSHA256
	guessCommonTLD // a domain ending in a common top-level domain
	guessAll       = 1<<iota - 1
)

// NewInferrer returns an empty Inferrer.
func NewInferrer() *Inferrer { return &Inferrer{root: &inode{}} }

// Events returns how many events were added.
func (in *Inferrer) Events() int { return in.events }

// Add adds one sample event, a JSON object.
func (in *Inferrer) Add(raw []byte) error {
	if !json.Valid(raw) {
		return errors.New("not valid JSON")
	}
	if jsonDepth(raw) > MaxDepth {
		return fmt.Errorf("nested more than %d levels deep", MaxDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("an event must be a JSON object")
	}
	if err := in.root.object(dec, 1); err != nil {
		return err
	}
	in.events++
	return nil
}

// jsonDepth returns the deepest nesting of objects and arrays in valid
// JSON, so that Add can refuse an event before changing anything.
func jsonDepth(raw []byte) int {
	depth, deepest, in := 0, 0, false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case in:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

func (n *inode) child(name string) *inode {
	if c, ok := n.index[name]; ok {
		return c
	}
	if n.index == nil {
		n.index = map[string]*inode{}
	}
	c := &inode{name: name}
	n.index[name] = c
	n.fields = append(n.fields, c)
	return c
}

func (n *inode) object(dec *json.Decoder, depth int) error {
	n.objs++
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if err := n.child(tok.(string)).value(dec, depth); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

func (n *inode) value(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return n.object(dec, depth+1)
		}
		n.arrs++
		if n.elem == nil {
			n.elem = &inode{}
		}
		for dec.More() {
			if err := n.elem.value(dec, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case string:
		n.addString(v)
	case json.Number:
		n.addNumber(v)
	case bool:
		n.bools++
	case nil:
		n.nulls++
	}
	return nil
}

func (n *inode) addString(s string) {
	if n.strs == 0 {
		n.timeFmts = 1<<len(inferTimeFormats) - 1
		n.inds = guessAll
	}
	n.strs++
	b := []byte(s)
	for i, tf := range compiledInferFormats {
		if n.timeFmts&(1<<i) != 0 {
			if _, ok := tf.parse(b, false); !ok {
				n.timeFmts &^= 1 << i
			}
		}
	}
	if n.inds == 0 {
		return
	}
	check := func(bit uint16, ok bool) {
		if !ok {
			n.inds &^= bit
		}
	}
	var a indicators
	check(guessIP, a.addIP(b))
	check(guessEmail, looksLikeEmail(b))
	if n.inds&guessURL != 0 {
		i := bytes.Index(b, []byte("://"))
		check(guessURL, i > 0 && isScheme(b[:i]) && len(b) > i+3)
	}
	dom := looksLikeDomain(b, true)
	check(guessDomain, dom)
	if n.inds&guessCommonTLD != 0 {
		t := bytes.TrimSuffix(b, []byte("."))
		check(guessCommonTLD, dom && slices.Contains(commonTLDs, strings.ToLower(string(t[bytes.LastIndexByte(t, '.')+1:]))))
	}
	check(guessMD5, isHex(b, 32))
	check(guessSHA1, isHex(b, 40))
	check(guessSHA256, isHex(b, 64))
}

func (n *inode) addNumber(num json.Number) {
	s := num.String()
	isInt := !strings.ContainsAny(s, ".eE")
	if isInt {
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			isInt = false
		}
	}
	if n.ints+n.floats == 0 {
		n.unixUnits = 1<<len(inferUnits) - 1
	}
	if isInt {
		n.ints++
	} else {
		n.floats++
	}
	f, err := strconv.ParseFloat(s, 64)
	for i, u := range inferUnits {
		if err != nil || f < u.min || f > u.max || (!isInt && i >= 2) {
			n.unixUnits &^= 1 << i
		}
	}
}

// timeNameHints are name fragments that make a number an epoch timestamp
// (numbers are only taken for times when the name says so).
var timeNameHints = []string{"time", "date", "timestamp", "created", "updated", "modified", "published", "when", "expires", "_at", "_ts", "epoch"}

func hintsTime(name string) bool {
	l := strings.ToLower(name)
	if l == "ts" {
		return true
	}
	for _, h := range timeNameHints {
		if strings.Contains(l, h) {
			return true
		}
	}
	return false
}

var commonTLDs = []string{"com", "net", "org", "io", "gov", "edu", "mil", "int", "co", "dev", "app", "cloud",
	"local", "internal", "corp", "lan", "us", "uk", "de", "fr", "jp", "cn", "ru", "br", "in", "au", "ca", "nl", "info", "biz"}

func hintsName(name string, hints ...string) bool {
	l := strings.ToLower(name)
	for _, h := range hints {
		if strings.Contains(l, h) {
			return true
		}
	}
	return false
}

// Schema returns the proposed schema, named name (Custom.Inferred when
// empty).
func (in *Inferrer) Schema(name string) (*Schema, error) {
	if in.events == 0 {
		return nil, errors.New("no sample events")
	}
	if name == "" {
		name = "Custom.Inferred"
	}
	s := &Schema{Name: name, Description: fmt.Sprintf("Inferred by prowl schema infer from %d sample events; review before use.", in.events)}
	for _, c := range in.root.fields {
		if c.name == "" || strings.HasPrefix(c.name, "p_") || len(c.name) > maxFieldNameLen {
			continue
		}
		s.Fields = append(s.Fields, c.field(c.name, 1))
	}
	if len(s.Fields) == 0 {
		return nil, errors.New("the samples have no usable fields")
	}
	chooseEventTime(s.Fields)
	if errs := validateSchema(s, false, nil); len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

// eventTimeNames rank field names for the event time.
var eventTimeNames = []string{"eventtime", "event_time", "@timestamp", "timestamp", "time", "published", "ts", "date", "created_at", "createdat", "created"}

// chooseEventTime marks one timestamp field as the event time: a top-level
// one with the best-ranked name, else the first top-level one, else the
// first nested one outside arrays.
func chooseEventTime(fs []Field) {
	best, bestRank := -1, len(eventTimeNames)+1
	for i := range fs {
		if fs[i].Type != TypeTimestamp {
			continue
		}
		rank := len(eventTimeNames)
		if r := slices.Index(eventTimeNames, strings.ToLower(fs[i].Name)); r >= 0 {
			rank = r
		}
		if rank < bestRank {
			best, bestRank = i, rank
		}
	}
	if best >= 0 {
		fs[best].IsEventTime = true
		return
	}
	var mark func(fs []Field) bool
	mark = func(fs []Field) bool {
		for i := range fs {
			if fs[i].Type == TypeTimestamp {
				fs[i].IsEventTime = true
				return true
			}
			if fs[i].Type == TypeObject && mark(fs[i].Fields) {
				return true
			}
		}
		return false
	}
	mark(fs)
}

// field resolves what was seen at n into a schema field.
func (n *inode) field(name string, depth int) Field {
	f := Field{Name: name, Type: TypeJSON}
	kinds := 0
	for _, c := range []int{n.bools, n.strs, n.ints + n.floats, n.objs, n.arrs} {
		if c > 0 {
			kinds++
		}
	}
	if kinds != 1 || depth >= maxSchemaDepth-1 {
		return f
	}
	switch {
	case n.bools > 0:
		f.Type = TypeBoolean
	case n.objs > 0:
		var sub []Field
		for _, c := range n.fields {
			if c.name != "" && len(c.name) <= maxFieldNameLen {
				sub = append(sub, c.field(c.name, depth+1))
			}
		}
		if len(sub) > 0 {
			f.Type, f.Fields = TypeObject, sub
		}
	case n.arrs > 0:
		el := Field{Type: TypeJSON}
		if n.elem != nil {
			el = n.elem.field("", depth+1)
		}
		f.Type, f.Element = TypeArray, &el
	case n.ints+n.floats > 0:
		f.Type = TypeBigint
		if n.floats > 0 {
			f.Type = TypeFloat
		}
		if hintsTime(name) {
			for i, u := range inferUnits {
				if n.unixUnits&(1<<i) != 0 {
					f.Type, f.TimeFormat = TypeTimestamp, u.format
					break
				}
			}
		}
	case n.strs > 0:
		for i := range inferTimeFormats {
			if n.timeFmts&(1<<i) != 0 {
				f.Type, f.TimeFormat = TypeTimestamp, inferTimeFormats[i]
				return f
			}
		}
		f.Type = TypeString
		switch {
		case n.inds&guessIP != 0:
			f.Indicators = []string{"ip"}
		case n.inds&guessEmail != 0:
			f.Indicators = []string{"email"}
			if hintsName(name, "user", "login", "actor", "principal") {
				f.Indicators = append(f.Indicators, "username")
			}
		case n.inds&guessURL != 0:
			f.Indicators = []string{"url"}
		case n.inds&guessSHA256 != 0 && hintsName(name, "sha", "hash", "digest", "checksum"):
			f.Indicators = []string{"sha256"}
		case n.inds&guessSHA1 != 0 && hintsName(name, "sha", "hash", "digest", "checksum", "commit"):
			f.Indicators = []string{"sha1"}
		case n.inds&guessMD5 != 0 && hintsName(name, "md5", "hash", "digest", "checksum"):
			f.Indicators = []string{"md5"}
		case n.inds&guessDomain != 0 && (n.inds&guessCommonTLD != 0 || hintsName(name, "domain", "host", "fqdn", "dns", "server")):
			// Many dotted words (file names, versions, class names) look
			// like domains: require a common TLD or a telling name.
			f.Indicators = []string{"domain"}
		case hintsName(name, "username", "user_name", "login") || strings.EqualFold(name, "user"):
			f.Indicators = []string{"username"}
		}
	}
	return f
}

// yamlField and yamlSchema give the key order of written schemas.
type yamlField struct {
	Name        string      `yaml:"name,omitempty"`
	Type        string      `yaml:"type"`
	Required    bool        `yaml:"required,omitempty"`
	TimeFormat  string      `yaml:"timeFormat,omitempty"`
	IsEventTime bool        `yaml:"isEventTime,omitempty"`
	Indicators  []string    `yaml:"indicators,omitempty,flow"`
	Description string      `yaml:"description,omitempty"`
	Element     *yamlField  `yaml:"element,omitempty"`
	Fields      []yamlField `yaml:"fields,omitempty"`
}

type yamlSchema struct {
	Schema       string      `yaml:"schema"`
	Description  string      `yaml:"description,omitempty"`
	ReferenceURL string      `yaml:"referenceURL,omitempty"`
	Version      int         `yaml:"version"`
	Fields       []yamlField `yaml:"fields"`
}

func toYAMLField(f *Field) yamlField {
	y := yamlField{Name: f.Name, Type: string(f.Type), Required: f.Required, TimeFormat: f.TimeFormat,
		IsEventTime: f.IsEventTime, Indicators: f.Indicators, Description: f.Description}
	if f.Element != nil {
		e := toYAMLField(f.Element)
		y.Element = &e
	}
	for i := range f.Fields {
		y.Fields = append(y.Fields, toYAMLField(&f.Fields[i]))
	}
	return y
}

// WriteSchemaYAML writes s in the schema file format.
func WriteSchemaYAML(w io.Writer, s *Schema) error {
	y := yamlSchema{Schema: s.Name, Description: s.Description, ReferenceURL: s.ReferenceURL, Version: s.Version}
	for i := range s.Fields {
		y.Fields = append(y.Fields, toYAMLField(&s.Fields[i]))
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(y); err != nil {
		return err
	}
	return enc.Close()
}
