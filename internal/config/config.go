// Package config holds prowl's server settings. One table of settings feeds
// the config file (prowl.yaml), the PROWL_* environment variables, the
// command-line flags and `prowl config show`; later sources win: defaults,
// then the file, then the environment, then flags.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/prowl-siem/prowl/internal/suggest"
)

// Config is the effective server configuration.
type Config struct {
	DataDir   string `yaml:"data_dir"`
	Listen    string `yaml:"listen"`
	PublicURL string `yaml:"public_url"`
	LogLevel  string `yaml:"log_level"`
	// Detections are extra analysis directories, loaded after the bundled packs.
	Detections []string `yaml:"detections"`
	// Packs are the bundled packs that are enabled.
	Packs []string `yaml:"packs"`

	PythonPath     string        `yaml:"python"`
	PythonWorkers  int           `yaml:"python_workers"`
	RuleTimeout    time.Duration `yaml:"rule_timeout"`
	PythonMemoryMB int           `yaml:"python_memory_mb"`
	// GoMemoryLimitMB is the Go runtime's soft memory limit, in MiB.
	GoMemoryLimitMB int `yaml:"go_memory_limit_mb"`

	BatchSize  int           `yaml:"batch_size"`
	BatchDelay time.Duration `yaml:"batch_delay"`
	WALSync    time.Duration `yaml:"wal_sync_interval"`

	RetentionDays  int      `yaml:"retention_days"`
	TableRetention []string `yaml:"table_retention"`

	AlertsPerHour  int `yaml:"alerts_per_hour"`
	EventsPerAlert int `yaml:"events_per_alert"`

	Demo           bool     `yaml:"demo"`
	DemoRate       float64  `yaml:"demo_events_per_second"`
	DemoAttacks    []string `yaml:"demo_attacks"`
	DemoSeed       int64    `yaml:"demo_seed"`
	DemoOktaListen string   `yaml:"demo_okta_listen"`

	// AdminToken guards the API; empty means no authentication (loopback only).
	AdminToken string `yaml:"admin_token"`

	// ImportMaxMB limits the body of one POST /api/v1/import, in MiB.
	ImportMaxMB int `yaml:"import_max_mb"`
}

// Setting describes one configuration key.
type Setting struct {
	Key         string // the YAML key
	Flag        string
	Env         string
	Default     string
	Description string
	Secret      bool
	field       string // Config field name
}

// Settings is the table of every setting, in display order.
var Settings = []Setting{
	{Key: "data_dir", field: "DataDir", Default: "./prowl-data", Description: "directory for the control-plane database, event log and detection snapshots"},
	{Key: "listen", field: "Listen", Default: "127.0.0.1:8080", Description: "address of the HTTP API, console and ingest endpoints"},
	{Key: "public_url", field: "PublicURL", Default: "", Description: "URL of the console as users reach it, for links in notifications (default http://<listen>)"},
	{Key: "log_level", field: "LogLevel", Default: "info", Description: "debug, info, warn or error"},
	{Key: "detections", field: "Detections", Default: "", Description: "extra detection directories (comma-separated), reloaded on change"},
	{Key: "packs", field: "Packs", Default: "Prowl.Okta", Description: "bundled packs to enable (comma-separated PackIDs; 'none' for none)"},
	{Key: "python", field: "PythonPath", Default: "", Description: "Python interpreter for detections (default /usr/bin/python3, else python3 on PATH)"},
	{Key: "python_workers", field: "PythonWorkers", Default: "0", Description: "Python worker processes (0: one per CPU)"},
	{Key: "rule_timeout", field: "RuleTimeout", Default: "10s", Description: "time limit of one detection function call"},
	{Key: "python_memory_mb", field: "PythonMemoryMB", Default: "2048", Description: "address-space limit of each Python worker, in MiB"},
	{Key: "go_memory_limit_mb", field: "GoMemoryLimitMB", Default: "512", Description: "soft limit of the Go runtime's memory, in MiB: the garbage collector works harder near it (0: none; a GOMEMLIMIT environment variable wins)"},
	{Key: "batch_size", field: "BatchSize", Default: "500", Description: "events evaluated together by the detection engine"},
	{Key: "batch_delay", field: "BatchDelay", Default: "0s", Description: "extra wait for more events before evaluating a batch (0: evaluate what has arrived; batches fill up under load by themselves)"},
	{Key: "wal_sync_interval", field: "WALSync", Default: "0s", Description: "extra wait to share one fsync among appends (0: appends arriving during an fsync already share the next one)"},
	{Key: "retention_days", field: "RetentionDays", Default: "90", Description: "days the lake keeps each table's data (0: forever)"},
	{Key: "table_retention", field: "TableRetention", Default: "", Description: "per-table retention overriding retention_days, as TABLE=DAYS (comma-separated), e.g. okta_systemlog=365"},
	{Key: "alerts_per_hour", field: "AlertsPerHour", Default: "1000", Description: "new alerts one detection may raise per hour before it is throttled"},
	{Key: "events_per_alert", field: "EventsPerAlert", Default: "100", Description: "matched events kept with each alert"},
	{Key: "demo", field: "Demo", Default: "false", Description: "start a local Okta simulator with a generated feed (attacks included) and onboard it"},
	{Key: "demo_events_per_second", field: "DemoRate", Default: "20", Description: "rate of the demo feed"},
	{Key: "demo_attacks", field: "DemoAttacks", Default: "brute_force,password_spray,mfa_fatigue,admin_grant,new_country", Description: "attack scenarios in the demo feed (comma-separated)"},
	{Key: "demo_seed", field: "DemoSeed", Default: "1", Description: "seed of the demo feed"},
	{Key: "demo_okta_listen", field: "DemoOktaListen", Default: "127.0.0.1:0", Description: "address of the demo Okta simulator"},
	{Key: "import_max_mb", field: "ImportMaxMB", Default: "64", Description: "largest body of one import request (POST /api/v1/import), in MiB, before and after gzip decompression"},
	{Key: "admin_token", field: "AdminToken", Default: "", Description: "bearer token required by the API and console (empty: none; then listen on loopback only)", Secret: true},
}

func init() {
	for i := range Settings {
		s := &Settings[i]
		s.Flag = strings.ReplaceAll(s.Key, "_", "-")
		s.Env = "PROWL_" + strings.ToUpper(s.Key)
	}
}

// AddFlags registers a flag for every setting on fs.
func AddFlags(fs *pflag.FlagSet) {
	boolType := reflect.TypeFor[bool]()
	for _, s := range Settings {
		usage := s.Description + " (env " + s.Env + ")"
		fs.String(s.Flag, s.Default, usage)
		if f, _ := reflect.TypeFor[Config]().FieldByName(s.field); f.Type == boolType {
			fs.Lookup(s.Flag).NoOptDefVal = "true" // --demo alone means --demo=true
		}
	}
	fs.StringP("config", "c", "prowl.yaml", "config file (used when it exists)")
}

// Load builds the effective config: defaults, then the config file named by
// --config (when it exists, or always when --config was given), then PROWL_*
// environment variables, then flags that were set.
func Load(fs *pflag.FlagSet, environ []string) (*Config, error) {
	cfg := &Config{}
	for _, s := range Settings {
		if err := s.set(cfg, s.Default); err != nil {
			return nil, fmt.Errorf("default of %s: %w", s.Key, err)
		}
	}
	path, _ := fs.GetString("config")
	explicit := fs.Changed("config")
	if data, err := os.ReadFile(path); err == nil {
		if err := applyFile(cfg, path, data); err != nil {
			return nil, err
		}
	} else if explicit || !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("config file: %w", err)
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for _, s := range Settings {
		if v, ok := env[s.Env]; ok {
			if err := s.set(cfg, v); err != nil {
				return nil, fmt.Errorf("%s: %w", s.Env, err)
			}
		}
	}
	for _, s := range Settings {
		if fs.Changed(s.Flag) {
			v, _ := fs.GetString(s.Flag)
			if err := s.set(cfg, v); err != nil {
				return nil, fmt.Errorf("--%s: %w", s.Flag, err)
			}
		}
	}
	return cfg, cfg.validate()
}

func applyFile(cfg *Config, path string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: the config file must be a mapping of settings", path, root.Line)
	}
	keys := make([]string, len(Settings))
	for i, s := range Settings {
		keys[i] = s.Key
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		s := lookup(k.Value)
		if s == nil {
			return fmt.Errorf("%s:%d: unknown setting %q%s", path, k.Line, k.Value, suggest.Hint(k.Value, keys))
		}
		text := v.Value
		if v.Kind == yaml.SequenceNode {
			var items []string
			for _, it := range v.Content {
				items = append(items, it.Value)
			}
			text = strings.Join(items, ",")
		}
		if err := s.set(cfg, text); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", path, v.Line, s.Key, err)
		}
	}
	return nil
}

func lookup(key string) *Setting {
	for i := range Settings {
		if Settings[i].Key == key {
			return &Settings[i]
		}
	}
	return nil
}

// set parses text into the setting's field.
func (s Setting) set(cfg *Config, text string) error {
	f := reflect.ValueOf(cfg).Elem().FieldByName(s.field)
	switch f.Interface().(type) {
	case string:
		f.SetString(text)
	case bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", text)
		}
		f.SetBool(b)
	case int:
		n, err := strconv.Atoi(text)
		if err != nil {
			return fmt.Errorf("want a whole number, got %q", text)
		}
		f.SetInt(int64(n))
	case int64:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return fmt.Errorf("want a whole number, got %q", text)
		}
		f.SetInt(n)
	case float64:
		n, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return fmt.Errorf("want a number, got %q", text)
		}
		f.SetFloat(n)
	case time.Duration:
		d, err := time.ParseDuration(text)
		if err != nil {
			return fmt.Errorf("want a duration such as 10s or 5m, got %q", text)
		}
		f.SetInt(int64(d))
	case []string:
		var items []string
		for _, it := range strings.Split(text, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported setting type %s", f.Type())
	}
	return nil
}

func (c *Config) validate() error {
	var errs []error
	if c.PythonWorkers < 0 {
		errs = append(errs, errors.New("python_workers must be 0 or more"))
	}
	if c.BatchSize < 1 {
		errs = append(errs, errors.New("batch_size must be at least 1"))
	}
	if c.ImportMaxMB < 1 || c.ImportMaxMB > 4096 {
		errs = append(errs, errors.New("import_max_mb must be between 1 and 4096"))
	}
	if c.RetentionDays < 0 {
		errs = append(errs, errors.New("retention_days must be 0 (forever) or more"))
	}
	if _, err := c.TableRetentions(); err != nil {
		errs = append(errs, err)
	}
	if c.AlertsPerHour < 1 {
		errs = append(errs, errors.New("alerts_per_hour must be at least 1"))
	}
	if c.DemoRate <= 0 {
		errs = append(errs, errors.New("demo_events_per_second must be positive"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// Show renders the effective config as YAML with secrets redacted.
func (c *Config) Show() string {
	var buf bytes.Buffer
	for _, s := range Settings {
		f := reflect.ValueOf(c).Elem().FieldByName(s.field)
		var value string
		switch v := f.Interface().(type) {
		case []string:
			value = "[" + strings.Join(quoteAll(v), ", ") + "]"
		case time.Duration:
			value = v.String()
		case string:
			value = strconv.Quote(v)
		default:
			value = fmt.Sprint(v)
		}
		if s.Secret && !f.IsZero() {
			value = `"<redacted>"`
		}
		fmt.Fprintf(&buf, "%s: %s  # %s\n", s.Key, value, s.Description)
	}
	return buf.String()
}

func quoteAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strconv.Quote(s)
	}
	return out
}

// TableRetentions parses table_retention into table name -> retention (0:
// forever).
func (c *Config) TableRetentions() (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, item := range c.TableRetention {
		table, days, ok := strings.Cut(item, "=")
		n, err := strconv.Atoi(strings.TrimSpace(days))
		if !ok || err != nil || n < 0 || strings.TrimSpace(table) == "" {
			return nil, fmt.Errorf("table_retention %q: want TABLE=DAYS, e.g. okta_systemlog=365", item)
		}
		out[strings.TrimSpace(table)] = time.Duration(n) * 24 * time.Hour
	}
	return out, nil
}
