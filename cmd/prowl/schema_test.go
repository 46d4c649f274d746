package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSchemaInferThenTest(t *testing.T) {
	dir := t.TempDir()
	samples := filepath.Join(dir, "app.ndjson")
	os.WriteFile(samples, []byte(`{"ts":"2024-05-01T10:00:00Z","user":"ana@example.com","src":"198.51.100.7","n":3}
{"ts":"2024-05-01T10:00:05Z","user":"bob@example.com","src":"203.0.113.9","n":4}
`), 0o644)
	out, code := prowl(t, "schema", "infer", "--name", "Custom.App", samples)
	if code != 0 || !strings.Contains(out, "Custom.App") || !strings.Contains(out, "isEventTime: true") {
		t.Fatalf("infer: %d\n%s", code, out)
	}
	schema := filepath.Join(dir, "app.yml")
	os.WriteFile(schema, []byte(out), 0o644)
	if out, code := prowl(t, "schema", "test", schema, samples); code != 0 {
		t.Errorf("the inferred schema must accept its samples: %d\n%s", code, out)
	}
	bad := filepath.Join(dir, "bad.ndjson")
	os.WriteFile(bad, []byte(`{"ts":"2024-05-01T10:00:00Z","n":1}`+"\n"+`{"ts":"not a time","n":"x"}`+"\n"), 0o644)
	out, code = prowl(t, "schema", "test", schema, bad)
	if code != 1 || !strings.Contains(out, "bad.ndjson:2:") {
		t.Errorf("a failing sample is reported with file and line: %d\n%s", code, out)
	}
	if out, code := prowl(t, "schema", "list"); code != 0 || !strings.Contains(out, "Okta.SystemLog") {
		t.Errorf("list: %d\n%s", code, out)
	}
}
