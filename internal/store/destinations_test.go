package store

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/prowl-siem/prowl/internal/destinations"
)

func TestDestinationConfigs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "prowl.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c := destinations.Config{ID: "d1", Name: "SOC Slack", Type: "slack", Severities: []string{"HIGH", "CRITICAL"}, Settings: json.RawMessage(`{"channel":"#soc"}`), Enabled: true}
	if err := s.PutDestination(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSecret(ctx, DestinationSecretOwner("d1"), "webhook_url", []byte("https://hooks.example.com/x")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetDestination(ctx, "d1")
	if err != nil || got.Name != "SOC Slack" || len(got.Severities) != 2 || string(got.Settings) != `{"channel":"#soc"}` || !got.Enabled {
		t.Fatalf("round trip after reopen: %v %+v", err, got)
	}
	if err := s.PutDestination(ctx, destinations.Config{ID: "d2", Name: "SOC Slack", Type: "webhook"}); err == nil {
		t.Error("destination names are unique")
	}
	if err := s.DeleteDestination(ctx, "d1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSecret(ctx, DestinationSecretOwner("d1"), "webhook_url"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting a destination deletes its secrets: %v", err)
	}
	if list, _ := s.ListDestinations(ctx); len(list) != 0 {
		t.Errorf("list after delete: %+v", list)
	}
	if err := s.DeleteDestination(ctx, "d1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
}
