package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/prowl-siem/prowl/internal/destinations"
)

// DestinationSecretOwner is the owner key a destination's secrets are kept
// under (PutSecret/GetSecret).
func DestinationSecretOwner(id string) string { return "destination:" + id }

// PutDestination creates or replaces a destination configuration.
func (s *Store) PutDestination(ctx context.Context, c destinations.Config) error {
	if c.ID == "" || c.Name == "" || c.Type == "" {
		return errors.New("store: a destination needs an id, a name and a type")
	}
	settings := c.Settings
	if len(settings) == 0 {
		settings = json.RawMessage("{}")
	}
	if !json.Valid(settings) {
		return fmt.Errorf("store: destination %q: settings are not valid JSON", c.ID)
	}
	sev, _ := json.Marshal(nonNil(c.Severities))
	types, _ := json.Marshal(nonNil(c.AlertTypes))
	now := s.now().UnixNano()
	_, err := s.exec(ctx, `
INSERT INTO destinations (id, name, type, severities, alert_types, settings, enabled, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, type = excluded.type, severities = excluded.severities,
	alert_types = excluded.alert_types, settings = excluded.settings, enabled = excluded.enabled, updated_at = excluded.updated_at`,
		c.ID, c.Name, c.Type, string(sev), string(types), string(settings), c.Enabled, now, now)
	if err != nil {
		return fmt.Errorf("store: saving destination %q: %w", c.ID, err)
	}
	return nil
}

// GetDestination returns one destination, or ErrNotFound.
func (s *Store) GetDestination(ctx context.Context, id string) (destinations.Config, error) {
	rows, err := s.queryDestinations(ctx, "WHERE id = ?", id)
	if err != nil {
		return destinations.Config{}, err
	}
	if len(rows) == 0 {
		return destinations.Config{}, fmt.Errorf("destination %q: %w", id, ErrNotFound)
	}
	return rows[0], nil
}

// ListDestinations returns every destination, by name.
func (s *Store) ListDestinations(ctx context.Context) ([]destinations.Config, error) {
	return s.queryDestinations(ctx, "ORDER BY name")
}

// DeleteDestination removes a destination and its secrets.
func (s *Store) DeleteDestination(ctx context.Context, id string) error {
	res, err := s.exec(ctx, "DELETE FROM destinations WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("destination %q: %w", id, ErrNotFound)
	}
	_, err = s.exec(ctx, "DELETE FROM source_secrets WHERE source_id = ?", DestinationSecretOwner(id))
	return err
}

func (s *Store) queryDestinations(ctx context.Context, where string, args ...any) ([]destinations.Config, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, name, type, severities, alert_types, settings, enabled FROM destinations "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []destinations.Config
	for rows.Next() {
		var c destinations.Config
		var sev, types, settings string
		if err := rows.Scan(&c.ID, &c.Name, &c.Type, &sev, &types, &settings, &c.Enabled); err != nil {
			return nil, err
		}
		if err := errors.Join(json.Unmarshal([]byte(sev), &c.Severities), json.Unmarshal([]byte(types), &c.AlertTypes)); err != nil {
			return nil, fmt.Errorf("store: destination %q: %w", c.ID, err)
		}
		c.Settings = json.RawMessage(settings)
		out = append(out, c)
	}
	return out, rows.Err()
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
