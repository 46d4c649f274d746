package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prowl-siem/prowl/internal/sources"
	"github.com/prowl-siem/prowl/internal/spec"
	"github.com/prowl-siem/prowl/internal/store"
	"github.com/prowl-siem/prowl/internal/suggest"
)

// Secrets keeps secrets encrypted, by owner (a source id, or
// store.DestinationSecretOwner of a destination) and name. The API writes
// and deletes them and reads them only to check they are set or to build a
// source or destination for validation; it never returns one.
type Secrets interface {
	GetSecret(ctx context.Context, owner, name string) ([]byte, error)
	PutSecret(ctx context.Context, owner, name string, value []byte) error
	DeleteSecret(ctx context.Context, owner, name string) error
}

// SourceStore is where sources, their health, checkpoints and quarantine
// live (*store.Store).
type SourceStore interface {
	Secrets
	ListSources(ctx context.Context) ([]store.SourceRecord, error)
	GetSource(ctx context.Context, id string) (store.SourceRecord, error)
	PutSource(ctx context.Context, rec store.SourceRecord) error
	DeleteSource(ctx context.Context, id string) error
	GetHealth(ctx context.Context, sourceID string) (store.Health, error)
	PutCheckpoint(ctx context.Context, sourceID string, v []byte) error
	ListQuarantine(ctx context.Context, sourceID string, limit, offset int) ([]store.Quarantined, error)
	CountQuarantine(ctx context.Context, sourceID string) (int64, error)
}

// SourceRunner runs sources in the server, so that a source created,
// changed or deleted through the API starts, restarts or stops at once.
type SourceRunner interface {
	// Restart stops the source if it runs (waiting, within ctx, until it
	// has stopped and saved its checkpoint), then starts it as rec
	// describes when rec is enabled. Push sources are (re)registered on the
	// ingest endpoint.
	Restart(ctx context.Context, rec store.SourceRecord) error
	// Stop stops the source if it runs and waits, within ctx, until it has.
	Stop(ctx context.Context, id string) error
}

// Reprocessor replays a source's quarantined events (*pipeline.Pipeline).
type Reprocessor interface {
	Reprocess(ctx context.Context, sourceID string) (moved, remaining int, err error)
}

// runnerTimeout bounds how long a request waits for a source to stop.
const runnerTimeout = 30 * time.Second

func (s *Server) sourceRoutes(handle func(string, handler)) {
	handle("GET /api/v1/source-types", s.listSourceTypes)
	handle("GET /api/v1/sources", s.listSources)
	handle("POST /api/v1/sources", s.createSource)
	handle("GET /api/v1/sources/{id}", s.getSource)
	handle("PATCH /api/v1/sources/{id}", s.patchSource)
	handle("DELETE /api/v1/sources/{id}", s.deleteSource)
	handle("GET /api/v1/sources/{id}/quarantine", s.listQuarantine)
	handle("POST /api/v1/sources/{id}/quarantine/reprocess", s.reprocessQuarantine)
}

func notConfigured(what string) error {
	return &httpError{status: http.StatusNotImplemented, msg: what + " are not available on this server"}
}

// fieldProblem is one invalid field of a request.
type fieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// invalid is a 400 listing every problem, field by field, so a form can
// mark them all at once.
func invalid(what string, problems []fieldProblem) error {
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Message
		if p.Field != "" {
			msgs[i] = p.Field + ": " + p.Message
		}
	}
	return &httpError{status: http.StatusBadRequest, msg: what + ": " + strings.Join(msgs, "; "),
		extra: map[string]any{"fields": problems}}
}

// --- source types ---

// fieldView is a config field as forms need it.
type fieldView struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Description string   `json:"description"`
	Default     string   `json:"default,omitempty"`
	Options     []string `json:"options,omitempty"`
	Min         string   `json:"min,omitempty"`
	Max         string   `json:"max,omitempty"`
	Example     string   `json:"example,omitempty"`
	Required    bool     `json:"required"`
	Secret      bool     `json:"secret"`
	Advanced    bool     `json:"advanced"`
}

type sourceTypeView struct {
	Type        string      `json:"type"`
	Name        string      `json:"name"`
	Summary     string      `json:"summary"`
	Description string      `json:"description"`
	LogTypes    []string    `json:"log_types"`
	Push        bool        `json:"push"`
	Fields      []fieldView `json:"fields"`
}

func (s *Server) listSourceTypes(w http.ResponseWriter, _ *http.Request) error {
	out := []sourceTypeView{}
	for _, t := range sources.Types() {
		v := sourceTypeView{Type: t.Type, Name: t.Name, Summary: t.Summary, Description: t.Description,
			LogTypes: nonNilStrings(t.LogTypes), Push: t.Push, Fields: []fieldView{}}
		for _, f := range t.Fields {
			v.Fields = append(v.Fields, fieldView{Name: f.Name, Type: string(f.Type), Description: f.Description,
				Default: f.Default, Options: f.Options, Min: f.Min, Max: f.Max, Example: f.Example,
				Required: f.Required, Secret: f.Secret, Advanced: f.Advanced})
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"types": out})
	return nil
}

// --- sources ---

// sourceView is what the API shows of a source. It never holds a secret:
// Secrets names the secrets that are set.
type sourceView struct {
	ID        string          `json:"id"`
	Label     string          `json:"label"`
	Type      string          `json:"type"`
	LogTypes  []string        `json:"log_types"`
	Config    json.RawMessage `json:"config"`
	Enabled   bool            `json:"enabled"`
	Secrets   []string        `json:"secrets"`
	PushPath  string          `json:"push_path,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	Health    healthView      `json:"health"`
	// Quarantined is the number of the source's events held in quarantine now.
	Quarantined int64 `json:"quarantined"`
	// StartError is set when the source was saved but could not start.
	StartError string `json:"start_error,omitempty"`
}

type healthView struct {
	LastEventAt  *time.Time `json:"last_event_at,omitempty"`
	LastIngestAt *time.Time `json:"last_ingest_at,omitempty"`
	LastPollAt   *time.Time `json:"last_poll_at,omitempty"`
	Events       int64      `json:"events"`
	Bytes        int64      `json:"bytes"`
	Quarantined  int64      `json:"quarantined_total"`
	LastError    string     `json:"last_error,omitempty"`
	LastErrorAt  *time.Time `json:"last_error_at,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Server) sourceView(ctx context.Context, rec store.SourceRecord) (sourceView, error) {
	v := sourceView{ID: rec.ID, Label: rec.Label, Type: rec.Type, LogTypes: nonNilStrings(rec.LogTypes),
		Config: publicConfig(rec), Enabled: rec.Enabled, Secrets: []string{}, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}
	if spec, ok := sources.Lookup(rec.Type); ok {
		if len(v.LogTypes) == 0 {
			v.LogTypes = nonNilStrings(spec.LogTypes)
		}
		if spec.Push {
			v.PushPath = "/ingest/" + rec.ID
		}
		for _, f := range spec.Fields {
			if f.Secret && secretSet(ctx, s.Sources, rec.ID, f.Name) {
				v.Secrets = append(v.Secrets, f.Name)
			}
		}
	}
	h, err := s.Sources.GetHealth(ctx, rec.ID)
	if err != nil {
		return v, err
	}
	v.Health = healthView{LastEventAt: timePtr(h.LastEventAt), LastIngestAt: timePtr(h.LastIngestAt), LastPollAt: timePtr(h.LastPollAt),
		Events: h.Events, Bytes: h.Bytes, Quarantined: h.Quarantined, LastError: h.LastError, LastErrorAt: timePtr(h.LastErrorAt)}
	if v.Quarantined, err = s.Sources.CountQuarantine(ctx, rec.ID); err != nil {
		return v, err
	}
	return v, nil
}

// publicConfig is the record's config without any secret field (Validate
// keeps them out, but a record written by other means might hold one).
func publicConfig(rec store.SourceRecord) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal(rec.Config, &obj) != nil || obj == nil {
		return json.RawMessage("{}")
	}
	if spec, ok := sources.Lookup(rec.Type); ok {
		for _, f := range spec.Fields {
			if f.Secret {
				delete(obj, f.Name)
			}
		}
	}
	data, _ := json.Marshal(obj)
	return data
}

func secretSet(ctx context.Context, st Secrets, owner, name string) bool {
	v, err := st.GetSecret(ctx, owner, name)
	return err == nil && len(v) > 0
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func (s *Server) listSources(w http.ResponseWriter, r *http.Request) error {
	if s.Sources == nil {
		return notConfigured("sources")
	}
	recs, err := s.Sources.ListSources(r.Context())
	if err != nil {
		return err
	}
	out := []sourceView{}
	for _, rec := range recs {
		v, err := s.sourceView(r.Context(), rec)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"sources": out})
	return nil
}

func (s *Server) getSource(w http.ResponseWriter, r *http.Request) error {
	if s.Sources == nil {
		return notConfigured("sources")
	}
	rec, err := s.Sources.GetSource(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := s.sourceView(r.Context(), rec)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// sourceBody is the body of POST and PATCH /api/v1/sources. Pointers tell
// a field left out (PATCH keeps it) from one given.
type sourceBody struct {
	ID       *string         `json:"id"`
	Label    *string         `json:"label"`
	Type     *string         `json:"type"`
	LogTypes *[]string       `json:"log_types"`
	Config   json.RawMessage `json:"config"`
	// Secrets by field name; in a PATCH, null removes one.
	Secrets map[string]*string `json:"secrets"`
	Enabled *bool              `json:"enabled"`
	// ResetCheckpoint (PATCH) makes the source start over from its
	// initial position, for example after pointing it at another org.
	ResetCheckpoint bool `json:"reset_checkpoint"`
}

// idRE is what a source or destination id looks like: it appears in URLs
// (/ingest/{id}) and in rules' OutputIds.
var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// slug makes an id out of a label: "Okta prod" -> "okta-prod".
func slug(label string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(label) {
		if b.Len() >= 48 {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// uniqueID returns base, or base-2, base-3, ... whichever is not taken.
func uniqueID(ctx context.Context, base string, taken func(ctx context.Context, id string) (bool, error)) (string, error) {
	for n := 1; ; n++ {
		id := base
		if n > 1 {
			id = base + "-" + strconv.Itoa(n)
		}
		t, err := taken(ctx, id)
		if err != nil || !t {
			return id, err
		}
	}
}

// reservedSourceID reports a source id the server uses itself: imports
// are "import" or "import:<label>" (':' is not allowed in ids).
func reservedSourceID(id string) bool { return id == "import" }

func (s *Server) sourceTaken(ctx context.Context, id string) (bool, error) {
	return exists(ctx, id, s.Sources.GetSource)
}

func (s *Server) createSource(w http.ResponseWriter, r *http.Request) error {
	if s.Sources == nil {
		return notConfigured("sources")
	}
	var body sourceBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.ResetCheckpoint {
		return badRequest("reset_checkpoint: only for changing a source (PATCH)")
	}
	ctx := r.Context()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	rec := store.SourceRecord{Enabled: true, Config: json.RawMessage("{}")}
	if body.Type != nil {
		rec.Type = strings.TrimSpace(*body.Type)
	}
	if body.Label != nil {
		rec.Label = strings.TrimSpace(*body.Label)
	}
	if body.LogTypes != nil {
		rec.LogTypes = *body.LogTypes
	}
	if isGiven(body.Config) {
		rec.Config = body.Config
	}
	if body.Enabled != nil {
		rec.Enabled = *body.Enabled
	}
	ids := idPolicy{kind: "source", taken: s.sourceTaken, reserved: reservedSourceID, reservedMsg: "%q is reserved for imports"}
	id, problems, err := ids.newID(ctx, body.ID, rec.Label, rec.Type+" "+rec.Label)
	if err != nil {
		return err
	}
	rec.ID = id
	secrets := map[string][]byte{}
	problems = append(problems, s.checkSource(ctx, &rec, body.Secrets, secrets, false)...)
	if len(problems) > 0 {
		return invalid("invalid source", problems)
	}
	if err := saveNew(ctx, s, s.Sources, rec, rec.ID, rec.ID, secrets, s.Sources.PutSource, s.Sources.DeleteSource); err != nil {
		return err
	}
	v, err := s.startedView(ctx, rec.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/sources/"+v.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// checkSource validates rec (its id is set unless there were problems
// with it) with the secrets the request gives (name -> value; nil removes
// a stored one) and those already stored. It fills values with the
// secrets to write. Every problem is returned, field by field.
func (s *Server) checkSource(ctx context.Context, rec *store.SourceRecord, given map[string]*string, values map[string][]byte, patch bool) []fieldProblem {
	var problems []fieldProblem
	add := func(field, format string, args ...any) {
		problems = append(problems, fieldProblem{field, fmt.Sprintf(format, args...)})
	}
	switch {
	case rec.Label == "":
		add("label", "is required")
	case utf8.RuneCountInString(rec.Label) > 200:
		add("label", "is longer than 200 characters")
	}
	if rec.Type == "" {
		add("type", "is required")
		return problems
	}
	spec, ok := sources.Lookup(rec.Type)
	if !ok {
		var names []string
		for _, t := range sources.Types() {
			names = append(names, t.Type)
		}
		add("type", "unknown source type %q%s (known: %s)", rec.Type, suggest.Hint(rec.Type, names), strings.Join(names, ", "))
		return problems
	}
	problems = append(problems, s.checkLogTypes(rec.LogTypes)...)
	// Config, field by field.
	valid := true
	if err := sources.Validate(store.SourceRecord{ID: "x", Type: rec.Type, Config: rec.Config}); err != nil {
		valid = false
		var ce *sources.ConfigError
		if errors.As(err, &ce) {
			for _, f := range ce.Fields {
				f = f.Under("config")
				problems = append(problems, fieldProblem{f.Field, f.Message})
			}
		} else {
			add("config", "%v", err)
		}
	}
	checkSecrets(rec.Type+" sources", spec.Fields, "config", given, values, patch, add)
	// Secrets come from the request or, for a change, from the store.
	var missing []string
	secretFn := func(name string) ([]byte, error) {
		if v, ok := values[name]; ok {
			if v == nil {
				missing = append(missing, name)
				return nil, fmt.Errorf("secret %q: %w", name, store.ErrNotFound)
			}
			return v, nil
		}
		if rec.ID == "" {
			missing = append(missing, name)
			return nil, fmt.Errorf("secret %q: %w", name, store.ErrNotFound)
		}
		v, err := s.Sources.GetSecret(ctx, rec.ID, name)
		if errors.Is(err, store.ErrNotFound) {
			missing = append(missing, name)
		}
		return v, err
	}
	// Secrets every config needs are checked whatever else is wrong.
	for _, f := range spec.Fields {
		if _, given := values[f.Name]; f.Secret && f.Required && !(given && values[f.Name] != nil) {
			if _, err := secretFn(f.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
				add("secrets."+f.Name, "cannot be read: %v", err)
			}
		}
	}
	for _, name := range missing {
		add("secrets."+name, "is required")
	}
	if len(problems) > 0 || !valid || rec.ID == "" {
		return problems
	}
	// Build the source, without running it: this catches the secrets a
	// config needs (the http type's depend on auth) and whatever else the
	// type's constructor checks.
	if _, err := sources.New(*rec, secretFn); err != nil {
		if len(missing) > 0 {
			for _, name := range missing {
				add("secrets."+name, "is required with this config")
			}
		} else {
			add("", "%v", err)
		}
	}
	return problems
}

// checkLogTypes checks that the named log types exist.
func (s *Server) checkLogTypes(names []string) []fieldProblem {
	var problems []fieldProblem
	var known []string
	if s.LogTypes != nil {
		known = s.LogTypes()
	}
	for _, n := range names {
		switch {
		case strings.TrimSpace(n) == "":
			problems = append(problems, fieldProblem{"log_types", "an entry is empty"})
		case known != nil && !slices.Contains(known, n):
			problems = append(problems, fieldProblem{"log_types", fmt.Sprintf("no log type %q%s", n, suggest.Hint(n, known))})
		}
	}
	return problems
}

// saveSecrets writes (or, for nil, deletes) the secrets.
func (s *Server) saveSecrets(ctx context.Context, st Secrets, owner string, values map[string][]byte) error {
	for _, name := range sortedKeys(values) {
		v := values[name]
		var err error
		if v == nil {
			err = st.DeleteSecret(ctx, owner, name)
		} else {
			err = st.PutSecret(ctx, owner, name, v)
		}
		if err != nil {
			// The store's errors never contain the value.
			return fmt.Errorf("saving secret %s: %w", name, err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// restartSource hands the saved source to the runner. Its error is shown
// as the source's start_error: the change itself was saved.
func (s *Server) restartSource(ctx context.Context, rec store.SourceRecord) error {
	if s.Runner == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), runnerTimeout)
	defer cancel()
	return s.Runner.Restart(ctx, rec)
}

// startedView (re)starts the saved source id and shows it, with the
// error, if any, that kept it from starting.
func (s *Server) startedView(ctx context.Context, id string) (sourceView, error) {
	saved, err := s.Sources.GetSource(ctx, id)
	if err != nil {
		return sourceView{}, err
	}
	startErr := s.restartSource(ctx, saved)
	v, err := s.sourceView(ctx, saved)
	if err != nil {
		return v, err
	}
	if startErr != nil {
		v.StartError = startErr.Error()
	}
	return v, nil
}

func (s *Server) patchSource(w http.ResponseWriter, r *http.Request) error {
	if s.Sources == nil {
		return notConfigured("sources")
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var body sourceBody
	old, err := readChange(r, &body, s.Sources.GetSource)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var problems []fieldProblem
	if body.ID != nil && *body.ID != old.ID {
		problems = append(problems, fieldProblem{"id", "cannot change; create a new source instead"})
	}
	if body.Type != nil && *body.Type != old.Type {
		problems = append(problems, fieldProblem{"type", "cannot change; create a new source instead"})
	}
	rec := old
	if body.Label != nil {
		rec.Label = strings.TrimSpace(*body.Label)
	}
	if body.LogTypes != nil {
		rec.LogTypes = *body.LogTypes
	}
	if body.Enabled != nil {
		rec.Enabled = *body.Enabled
	}
	problems = mergeGiven(problems, "config", &rec.Config, body.Config)
	secrets := map[string][]byte{}
	if len(problems) == 0 {
		problems = s.checkSource(ctx, &rec, body.Secrets, secrets, true)
	}
	if len(problems) > 0 {
		return invalid("invalid change to source "+old.ID, problems)
	}
	// Stop the running instance first: it saves its checkpoint as it
	// stops, which must not race with a reset or with the new instance.
	if s.Runner != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), runnerTimeout)
		err := s.Runner.Stop(sctx, old.ID)
		cancel()
		if err != nil {
			return &httpError{status: http.StatusServiceUnavailable, msg: fmt.Sprintf("source %s did not stop: %v; nothing was changed", old.ID, err)}
		}
	}
	err = s.Sources.PutSource(ctx, rec)
	if err == nil {
		err = s.saveSecrets(ctx, s.Sources, rec.ID, secrets)
	}
	if err == nil && body.ResetCheckpoint {
		err = s.Sources.PutCheckpoint(ctx, rec.ID, nil)
	}
	if err != nil {
		// Keep the source running as it was (or partly changed).
		if cur, gerr := s.Sources.GetSource(context.WithoutCancel(ctx), rec.ID); gerr == nil {
			s.restartSource(ctx, cur)
		}
		return err
	}
	v, err := s.startedView(ctx, rec.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// mergeObject applies a JSON merge patch (RFC 7386) of one level to a JSON
// object: members of patch replace those of base; null removes one.
func mergeObject(base, patch json.RawMessage) (json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	if len(base) > 0 {
		if err := json.Unmarshal(base, &obj); err != nil || obj == nil {
			obj = map[string]json.RawMessage{}
		}
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(patch, &p); err != nil || p == nil {
		return nil, errors.New("must be a JSON object")
	}
	for k, v := range p {
		if string(v) == "null" {
			delete(obj, k)
		} else {
			obj[k] = v
		}
	}
	return json.Marshal(obj)
}

func (s *Server) deleteSource(w http.ResponseWriter, r *http.Request) error {
	if s.Sources == nil {
		return notConfigured("sources")
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := s.Sources.GetSource(ctx, id); err != nil {
		return err
	}
	if s.Runner != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), runnerTimeout)
		err := s.Runner.Stop(sctx, id)
		cancel()
		if err != nil {
			return &httpError{status: http.StatusServiceUnavailable, msg: fmt.Sprintf("source %s did not stop: %v; it was not deleted", id, err)}
		}
	}
	if err := s.Sources.DeleteSource(ctx, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- quarantine ---

// knownQuarantineOwner reports whether id names a source, or anything that
// holds quarantined events (an import, a deleted source).
func (s *Server) knownQuarantineOwner(ctx context.Context, id string) (int64, error) {
	n, err := s.Sources.CountQuarantine(ctx, id)
	if err != nil {
		return 0, err
	}
	if n > 0 || id == "import" || strings.HasPrefix(id, "import:") {
		return n, nil
	}
	if _, err := s.Sources.GetSource(ctx, id); err != nil {
		return 0, err
	}
	return n, nil
}

type quarantinedView struct {
	ID         int64     `json:"id"`
	LogType    string    `json:"log_type"`
	Reason     string    `json:"reason"`
	Detail     string    `json:"detail"`
	ReceivedAt time.Time `json:"received_at"`
	// Raw is the event as received, as a JSON string: it is untrusted
	// input and is never embedded as JSON. RawBase64 holds the exact bytes
	// when they are not valid UTF-8 (Raw then has replacement characters).
	Raw       string `json:"raw"`
	RawBase64 string `json:"raw_base64,omitempty"`
}

func pageParams(r *http.Request, def, maxLimit int) (limit, offset int, err error) {
	limit = def
	v := r.URL.Query()
	if text := v.Get("limit"); text != "" {
		n, err := strconv.Atoi(text)
		if err != nil || n < 1 {
			return 0, 0, badRequest("limit: want a positive whole number, got %q", text)
		}
		limit = min(n, maxLimit)
	}
	if text := v.Get("offset"); text != "" {
		n, err := strconv.Atoi(text)
		if err != nil || n < 0 {
			return 0, 0, badRequest("offset: want a whole number, got %q", text)
		}
		offset = n
	}
	return limit, offset, nil
}

func (s *Server) listQuarantine(w http.ResponseWriter, r *http.Request) error {
	if s.Sources == nil {
		return notConfigured("sources")
	}
	limit, offset, err := pageParams(r, 50, 1000)
	if err != nil {
		return err
	}
	ctx := r.Context()
	id := r.PathValue("id")
	total, err := s.knownQuarantineOwner(ctx, id)
	if err != nil {
		return err
	}
	items, err := s.Sources.ListQuarantine(ctx, id, limit, offset)
	if err != nil {
		return err
	}
	out := make([]quarantinedView, len(items))
	for i, q := range items {
		out[i] = quarantinedView{ID: q.ID, LogType: q.LogType, Reason: q.Reason, Detail: q.Detail, ReceivedAt: q.ReceivedAt,
			Raw: strings.ToValidUTF8(string(q.Raw), "\uFFFD")}
		if !utf8.Valid(q.Raw) {
			out[i].RawBase64 = base64.StdEncoding.EncodeToString(q.Raw)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"source_id": id, "items": out, "total": total, "limit": limit, "offset": offset})
	return nil
}

func (s *Server) reprocessQuarantine(w http.ResponseWriter, r *http.Request) error {
	if s.Sources == nil || s.Reprocess == nil {
		return notConfigured("quarantine replays")
	}
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := s.knownQuarantineOwner(ctx, id); err != nil {
		return err
	}
	moved, remaining, err := s.Reprocess.Reprocess(ctx, id)
	if err != nil {
		return fmt.Errorf("reprocessing the quarantine of %s (%d events moved before the error): %w", id, moved, err)
	}
	writeJSON(w, http.StatusOK, map[string]int{"moved": moved, "remaining": remaining})
	return nil
}

// checkSecrets checks the secrets a request gives (name -> value; nil
// removes a stored one on a change) against a component's fields, where
// settings names the place non-secret fields belong. Accepted values go
// into values (trimmed; nil to delete).
func checkSecrets(kind string, fields []spec.Field, settings string, given map[string]*string, values map[string][]byte, patch bool,
	add func(field, format string, args ...any)) {
	var secretNames []string
	for _, f := range fields {
		if f.Secret {
			secretNames = append(secretNames, f.Name)
		}
	}
	for _, name := range sortedKeys(given) {
		v := given[name]
		f, ok := spec.Find(fields, name)
		switch {
		case !ok:
			add("secrets."+name, "%s have no secret %q%s (secrets: %s)", kind, name, suggest.Hint(name, secretNames), strings.Join(secretNames, ", "))
		case !f.Secret:
			add("secrets."+name, "is not a secret: put it in "+settings)
		case v == nil && !patch:
			// nothing to remove on create
		case v == nil:
			values[name] = nil
		case strings.TrimSpace(*v) == "":
			add("secrets."+name, "is empty")
		default:
			values[name] = []byte(strings.TrimSpace(*v))
		}
	}
}
