package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prowl-siem/prowl/internal/destinations"
	"github.com/prowl-siem/prowl/internal/store"
)

// DestinationStore keeps the alert destinations and their secrets
// (*store.Store). Secrets of a destination are owned by
// store.DestinationSecretOwner(id).
type DestinationStore interface {
	Secrets
	ListDestinations(ctx context.Context) ([]destinations.Config, error)
	GetDestination(ctx context.Context, id string) (destinations.Config, error)
	PutDestination(ctx context.Context, c destinations.Config) error
	DeleteDestination(ctx context.Context, id string) error
}

// DestinationTester sends a test alert to a destination
// (*destinations.Dispatcher).
type DestinationTester interface {
	Test(ctx context.Context, cfg destinations.Config) error
}

// DeliveryLog lists the deliveries of an alert (*store.Store).
type DeliveryLog interface {
	ListDeliveries(ctx context.Context, alertID string) ([]destinations.Delivery, error)
}

// testTimeout bounds a test alert's delivery.
const testTimeout = 45 * time.Second

func (s *Server) destinationRoutes(handle func(string, handler)) {
	handle("GET /api/v1/destination-types", s.listDestinationTypes)
	handle("GET /api/v1/destinations", s.listDestinations)
	handle("POST /api/v1/destinations", s.createDestination)
	handle("GET /api/v1/destinations/{id}", s.getDestination)
	handle("PATCH /api/v1/destinations/{id}", s.patchDestination)
	handle("DELETE /api/v1/destinations/{id}", s.deleteDestination)
	handle("POST /api/v1/destinations/{id}/test", s.testDestination)
	handle("GET /api/v1/alerts/{id}/deliveries", s.alertDeliveries)
}

func (s *Server) listDestinationTypes(w http.ResponseWriter, _ *http.Request) error {
	types := destinations.Types()
	for i := range types {
		if types[i].Fields == nil {
			types[i].Fields = []destinations.Field{}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"types": types, "severities": destinations.Severities, "alert_types": destinations.AlertTypes})
	return nil
}

// destinationView is what the API shows of a destination: never a secret,
// only the names of those that are set.
type destinationView struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Severities []string        `json:"severities"`
	AlertTypes []string        `json:"alert_types"`
	Settings   json.RawMessage `json:"settings"`
	Enabled    bool            `json:"enabled"`
	Secrets    []string        `json:"secrets"`
}

func (s *Server) destinationView(ctx context.Context, c destinations.Config) destinationView {
	v := destinationView{ID: c.ID, Name: c.Name, Type: c.Type, Severities: nonNilStrings(c.Severities),
		AlertTypes: nonNilStrings(c.AlertTypes), Settings: json.RawMessage("{}"), Enabled: c.Enabled, Secrets: []string{}}
	spec, known := destinations.Lookup(c.Type)
	var obj map[string]json.RawMessage
	if json.Unmarshal(c.Settings, &obj) == nil && obj != nil {
		if known {
			for _, f := range spec.Fields {
				if f.Secret {
					delete(obj, f.Name)
				}
			}
		}
		v.Settings, _ = json.Marshal(obj)
	}
	if known {
		for _, f := range spec.Fields {
			if f.Secret && secretSet(ctx, s.Destinations, store.DestinationSecretOwner(c.ID), f.Name) {
				v.Secrets = append(v.Secrets, f.Name)
			}
		}
	}
	return v
}

func (s *Server) listDestinations(w http.ResponseWriter, r *http.Request) error {
	if s.Destinations == nil {
		return notConfigured("destinations")
	}
	configs, err := s.Destinations.ListDestinations(r.Context())
	if err != nil {
		return err
	}
	out := []destinationView{}
	for _, c := range configs {
		out = append(out, s.destinationView(r.Context(), c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"destinations": out})
	return nil
}

func (s *Server) getDestination(w http.ResponseWriter, r *http.Request) error {
	if s.Destinations == nil {
		return notConfigured("destinations")
	}
	c, err := s.Destinations.GetDestination(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.destinationView(r.Context(), c))
	return nil
}

// destinationBody is the body of POST and PATCH /api/v1/destinations.
type destinationBody struct {
	ID         *string         `json:"id"`
	Name       *string         `json:"name"`
	Type       *string         `json:"type"`
	Severities *[]string       `json:"severities"`
	AlertTypes *[]string       `json:"alert_types"`
	Settings   json.RawMessage `json:"settings"`
	// Secrets by field name; in a PATCH, null removes one.
	Secrets map[string]*string `json:"secrets"`
	Enabled *bool              `json:"enabled"`
}

func (s *Server) destinationTaken(ctx context.Context, id string) (bool, error) {
	return exists(ctx, id, s.Destinations.GetDestination)
}

func upper(list []string) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = strings.ToUpper(strings.TrimSpace(v))
	}
	return out
}

func (s *Server) createDestination(w http.ResponseWriter, r *http.Request) error {
	if s.Destinations == nil {
		return notConfigured("destinations")
	}
	var body destinationBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	c := destinations.Config{Enabled: true, Settings: json.RawMessage("{}")}
	if body.Name != nil {
		c.Name = strings.TrimSpace(*body.Name)
	}
	if body.Type != nil {
		c.Type = strings.TrimSpace(*body.Type)
	}
	if body.Severities != nil {
		c.Severities = upper(*body.Severities)
	}
	if body.AlertTypes != nil {
		c.AlertTypes = upper(*body.AlertTypes)
	}
	if isGiven(body.Settings) {
		c.Settings = body.Settings
	}
	if body.Enabled != nil {
		c.Enabled = *body.Enabled
	}
	id, problems, err := idPolicy{kind: "destination", taken: s.destinationTaken}.newID(ctx, body.ID, c.Name, "")
	if err != nil {
		return err
	}
	c.ID = id
	secrets := map[string][]byte{}
	if len(problems) == 0 {
		problems = s.checkDestination(ctx, c, body.Secrets, secrets, false)
	}
	if len(problems) > 0 {
		return invalid("invalid destination", problems)
	}
	if err := saveNew(ctx, s, s.Destinations, c, c.ID, store.DestinationSecretOwner(c.ID), secrets,
		s.Destinations.PutDestination, s.Destinations.DeleteDestination); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/destinations/"+c.ID)
	writeJSON(w, http.StatusCreated, s.destinationView(ctx, c))
	return nil
}

// checkDestination validates c with the given and stored secrets; values
// receives the secrets to write (nil: remove).
func (s *Server) checkDestination(ctx context.Context, c destinations.Config, given map[string]*string, values map[string][]byte, patch bool) []fieldProblem {
	var problems []fieldProblem
	add := func(field, format string, args ...any) {
		problems = append(problems, fieldProblem{field, fmt.Sprintf(format, args...)})
	}
	if err := destinations.ValidateConfig(c); err != nil {
		var ce *destinations.ConfigError
		if !errors.As(err, &ce) {
			add("", "%v", err)
			return problems
		}
		for _, f := range ce.Fields {
			problems = append(problems, fieldProblem{f.Field, f.Message})
		}
	}
	spec, ok := destinations.Lookup(c.Type)
	if !ok {
		return problems
	}
	checkSecrets(c.Type+" destinations", spec.Fields, "settings", given, values, patch, add)
	if len(problems) > 0 || c.ID == "" {
		return problems
	}
	// Build it with the new and stored secrets: missing required secrets
	// and malformed secret URLs show here, before anything is saved.
	owner := store.DestinationSecretOwner(c.ID)
	_, err := destinations.New(c, func(name string) (string, error) {
		if v, ok := values[name]; ok {
			if v == nil {
				return "", destinations.ErrNoSecret
			}
			return string(v), nil
		}
		v, err := s.Destinations.GetSecret(ctx, owner, name)
		if errors.Is(err, store.ErrNotFound) {
			return "", destinations.ErrNoSecret
		}
		return string(v), err
	})
	var ce *destinations.ConfigError
	switch {
	case err == nil:
	case errors.As(err, &ce):
		for _, f := range ce.Fields {
			field := f.Field
			if sf, ok := spec.Field(f.Field); ok && sf.Secret {
				field = "secrets." + f.Field
			} else if field != "" && field != "type" {
				field = "settings." + field
			}
			problems = append(problems, fieldProblem{field, f.Message})
		}
	default:
		add("", "%v", err)
	}
	return problems
}

func (s *Server) patchDestination(w http.ResponseWriter, r *http.Request) error {
	if s.Destinations == nil {
		return notConfigured("destinations")
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var body destinationBody
	old, err := readChange(r, &body, s.Destinations.GetDestination)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var problems []fieldProblem
	if body.ID != nil && *body.ID != old.ID {
		problems = append(problems, fieldProblem{"id", "cannot change: rules name destinations by id; create a new one instead"})
	}
	c := old
	if body.Type != nil && *body.Type != old.Type {
		problems = append(problems, fieldProblem{"type", "cannot change; create a new destination instead"})
	}
	if body.Name != nil {
		c.Name = strings.TrimSpace(*body.Name)
	}
	if body.Severities != nil {
		c.Severities = upper(*body.Severities)
	}
	if body.AlertTypes != nil {
		c.AlertTypes = upper(*body.AlertTypes)
	}
	if body.Enabled != nil {
		c.Enabled = *body.Enabled
	}
	problems = mergeGiven(problems, "settings", &c.Settings, body.Settings)
	secrets := map[string][]byte{}
	if len(problems) == 0 {
		problems = s.checkDestination(ctx, c, body.Secrets, secrets, true)
	}
	if len(problems) > 0 {
		return invalid("invalid change to destination "+old.ID, problems)
	}
	if err := s.Destinations.PutDestination(ctx, c); err != nil {
		return err
	}
	if err := s.saveSecrets(ctx, s.Destinations, store.DestinationSecretOwner(c.ID), secrets); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.destinationView(ctx, c))
	return nil
}

func (s *Server) deleteDestination(w http.ResponseWriter, r *http.Request) error {
	if s.Destinations == nil {
		return notConfigured("destinations")
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.Destinations.DeleteDestination(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// testDestination sends one test alert to a saved destination, enabled or
// not, and says whether it was accepted.
func (s *Server) testDestination(w http.ResponseWriter, r *http.Request) error {
	if s.Destinations == nil || s.Tester == nil {
		return notConfigured("destination tests")
	}
	c, err := s.Destinations.GetDestination(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), testTimeout)
	defer cancel()
	start := time.Now()
	err = s.Tester.Test(ctx, c)
	took := time.Since(start).Milliseconds()
	if err != nil {
		out := map[string]any{"ok": false, "error": err.Error(), "duration_ms": took}
		if code := destinations.StatusCode(err); code != 0 {
			out["status_code"] = code
		}
		status := http.StatusBadGateway
		var ce *destinations.ConfigError
		if errors.As(err, &ce) {
			status = http.StatusBadRequest // cannot be built: fix its settings or secrets
		}
		writeJSON(w, status, out)
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "duration_ms": took})
	return nil
}

type attemptView struct {
	At         time.Time `json:"at"`
	DurationMS int64     `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
	StatusCode int       `json:"status_code,omitempty"`
}

type deliveryView struct {
	ID              int64         `json:"id"`
	DestinationID   string        `json:"destination_id"`
	DestinationName string        `json:"destination_name,omitempty"`
	Status          string        `json:"status"`
	Attempts        int           `json:"attempts"`
	LastError       string        `json:"last_error,omitempty"`
	NextAttempt     *time.Time    `json:"next_attempt,omitempty"`
	CreatedAt       time.Time     `json:"created_at"`
	UpdatedAt       time.Time     `json:"updated_at"`
	History         []attemptView `json:"history"`
}

// alertDeliveries lists where an alert was sent, with every attempt.
func (s *Server) alertDeliveries(w http.ResponseWriter, r *http.Request) error {
	if s.Deliveries == nil {
		return notConfigured("deliveries")
	}
	ctx := r.Context()
	id := r.PathValue("id")
	list, err := s.Deliveries.ListDeliveries(ctx, id)
	if err != nil {
		return err
	}
	if len(list) == 0 && s.Alerts != nil {
		if _, err := s.Alerts.GetAlert(ctx, id); err != nil {
			return err
		}
	}
	names := map[string]string{}
	if s.Destinations != nil {
		if configs, err := s.Destinations.ListDestinations(ctx); err == nil {
			for _, c := range configs {
				names[c.ID] = c.Name
			}
		}
	}
	out := make([]deliveryView, len(list))
	for i, d := range list {
		v := deliveryView{ID: d.ID, DestinationID: d.DestinationID, DestinationName: names[d.DestinationID], Status: d.Status,
			Attempts: d.Attempts, LastError: d.LastError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, History: []attemptView{}}
		if d.Status == destinations.StatusPending {
			v.NextAttempt = timePtr(d.NextAttempt)
		}
		for _, a := range d.History {
			v.History = append(v.History, attemptView{At: a.At, DurationMS: a.Duration.Milliseconds(), Error: a.Error, StatusCode: a.StatusCode})
		}
		out[i] = v
	}
	writeJSON(w, http.StatusOK, map[string]any{"alert_id": id, "deliveries": out})
	return nil
}
