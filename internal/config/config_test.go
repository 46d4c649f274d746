package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func load(t *testing.T, file string, env []string, args ...string) (*Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("up", pflag.ContinueOnError)
	AddFlags(fs)
	path := filepath.Join(t.TempDir(), "prowl.yaml")
	if file != "" {
		os.WriteFile(path, []byte(file), 0o644)
	}
	if err := fs.Parse(append([]string{"--config", path}, args...)); err != nil {
		t.Fatal(err)
	}
	if file == "" {
		os.WriteFile(path, nil, 0o644)
	}
	return Load(fs, env)
}

func TestPrecedenceFlagsOverEnvOverFileOverDefaults(t *testing.T) {
	cfg, err := load(t, "listen: 127.0.0.1:9000\npython_workers: 3\nrule_timeout: 2s\npacks: [A, B]\n",
		[]string{"PROWL_PYTHON_WORKERS=4", "PROWL_DATA_DIR=/tmp/env-data"}, "--data-dir", "/tmp/flag-data", "--demo")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9000" || cfg.PythonWorkers != 4 || cfg.DataDir != "/tmp/flag-data" || cfg.RuleTimeout != 2*time.Second {
		t.Errorf("effective config: %+v", cfg)
	}
	if strings.Join(cfg.Packs, ",") != "A,B" || cfg.AlertsPerHour != 1000 || !cfg.Demo {
		t.Errorf("lists from YAML and defaults: %+v", cfg)
	}
}

func TestBadConfigSaysWhere(t *testing.T) {
	f := func(file string, env []string, want string) {
		t.Helper()
		_, err := load(t, file, env)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error containing %q, got %v", want, err)
		}
	}
	f("listen: x\npython_worker: 2\n", nil, `:2: unknown setting "python_worker" (did you mean "python_workers"?)`)
	f("rule_timeout: soon\n", nil, `:1: rule_timeout: want a duration`)
	f("", []string{"PROWL_DEMO=maybe"}, "PROWL_DEMO: want true or false")
	f("log_level: loud\n", nil, `log_level "loud"`)
	f("- a\n", nil, "must be a mapping")
}

func TestShowRedactsSecrets(t *testing.T) {
	cfg, err := load(t, "admin_token: s3cret\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	out := cfg.Show()
	if strings.Contains(out, "s3cret") || !strings.Contains(out, `admin_token: "<redacted>"`) || !strings.Contains(out, `listen: "127.0.0.1:8080"`) {
		t.Errorf("show:\n%s", out)
	}
}

// Every setting is documented in docs/operations.md.
func TestSettingsAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		if !strings.Contains(string(doc), "| `"+s.Key+"` | `--"+s.Flag+"` / `"+s.Env+"`") {
			t.Errorf("docs/operations.md has no row for %s", s.Key)
		}
	}
}

func TestTableRetention(t *testing.T) {
	cfg, err := load(t, "table_retention: [okta_systemlog=365, aws_cloudtrail=0]\nretention_days: 30\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := cfg.TableRetentions()
	if r["okta_systemlog"] != 365*24*time.Hour || r["aws_cloudtrail"] != 0 || cfg.RetentionDays != 30 {
		t.Errorf("retention: %v %d", r, cfg.RetentionDays)
	}
	if _, err := load(t, "table_retention: [okta_systemlog]\n", nil); err == nil || !strings.Contains(err.Error(), "want TABLE=DAYS") {
		t.Errorf("a malformed entry must be refused: %v", err)
	}
}
