package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/termsafe"
)

// The API's views, as the CLI reads them.

type apiField struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Description string   `json:"description"`
	Default     string   `json:"default"`
	Options     []string `json:"options"`
	Required    bool     `json:"required"`
	Secret      bool     `json:"secret"`
	Advanced    bool     `json:"advanced"`
}

type apiSourceType struct {
	apiComponentType
	LogTypes []string `json:"log_types"`
	Push     bool     `json:"push"`
}

type apiSource struct {
	ID        string          `json:"id"`
	Label     string          `json:"label"`
	Type      string          `json:"type"`
	LogTypes  []string        `json:"log_types"`
	Config    json.RawMessage `json:"config"`
	Enabled   bool            `json:"enabled"`
	Secrets   []string        `json:"secrets"`
	PushPath  string          `json:"push_path"`
	CreatedAt time.Time       `json:"created_at"`
	Health    struct {
		LastEventAt  *time.Time `json:"last_event_at"`
		LastIngestAt *time.Time `json:"last_ingest_at"`
		LastPollAt   *time.Time `json:"last_poll_at"`
		Events       int64      `json:"events"`
		Bytes        int64      `json:"bytes"`
		LastError    string     `json:"last_error"`
		LastErrorAt  *time.Time `json:"last_error_at"`
	} `json:"health"`
	Quarantined int64  `json:"quarantined"`
	StartError  string `json:"start_error"`
}

func newSourcesCmd() *cobra.Command {
	c := &client{}
	cmd := &cobra.Command{
		Use:   "sources",
		Short: "Onboard and inspect the log sources of a running prowl",
		Long: `Onboard and inspect the log sources of a running prowl (see docs/sources.md).
A new or changed source starts at once; a deleted one stops.`,
	}
	addClientFlags(cmd, c)
	cmd.AddCommand(newSourcesListCmd(c), newSourcesTypesCmd(c), newSourcesAddCmd(c), newSourcesShowCmd(c),
		newSourcesDeleteCmd(c), newSourcesReprocessCmd(c))
	return cmd
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func ago(t *time.Time) string {
	if t == nil {
		return "never"
	}
	d := time.Since(*t).Round(time.Second)
	if d < 0 {
		return t.Local().Format("2006-01-02 15:04")
	}
	return d.String() + " ago"
}

func newSourcesListCmd(c *client) *cobra.Command {
	return newComponentListCmd(c, sourceKind, "List sources with their health", "ID\tTYPE\tENABLED\tEVENTS\tQUARANTINED\tLAST EVENTS\tLABEL\tLAST ERROR",
		func(s apiSource) string {
			return fmt.Sprintf("%s\t%s\t%v\t%d\t%d\t%s\t%s\t%s", s.ID, s.Type, s.Enabled, s.Health.Events, s.Quarantined,
				ago(s.Health.LastIngestAt), termsafe.Escape(truncate(s.Label, 40)), termsafe.Escape(truncate(s.Health.LastError, 60)))
		})
}

func (c *client) sourceTypes() ([]apiSourceType, error) {
	return getList[apiSourceType](c, sourceKind.typesPath, "types")
}

func newSourcesTypesCmd(c *client) *cobra.Command {
	return newComponentTypesCmd[apiSourceType](c, sourceKind, "Show the source types and their settings (for --set and --secret)")
}

func printFields(w io.Writer, fields []apiField) {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	for _, f := range fields {
		kind := "--set " + f.Name + "=" + strings.ToUpper(f.Type)
		if f.Secret {
			kind = "--secret " + f.Name + "=@FILE"
		}
		notes := []string{}
		if f.Required {
			notes = append(notes, "required")
		}
		if f.Default != "" {
			notes = append(notes, "default "+f.Default)
		}
		if len(f.Options) > 0 {
			notes = append(notes, "one of "+strings.Join(f.Options, ", "))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", kind, strings.Join(notes, "; "), f.Description)
	}
	tw.Flush()
}

// setValues turns --set key=value flags into a JSON object, typed by the
// fields (numbers, booleans and objects are not strings in JSON).
func setValues(sets []string, fields []apiField) (map[string]any, error) {
	out := map[string]any{}
	types := map[string]string{}
	for _, f := range fields {
		types[f.Name] = f.Type
	}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want KEY=VALUE", kv)
		}
		switch types[k] {
		case "int":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("--set %s: want a whole number, got %q", k, v)
			}
			out[k] = n
		case "bool":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("--set %s: want true or false, got %q", k, v)
			}
			out[k] = b
		case "map":
			var m map[string]string
			if err := json.Unmarshal([]byte(v), &m); err != nil {
				return nil, fmt.Errorf("--set %s: want a JSON object of strings such as {\"X-Team\":\"secops\"}", k)
			}
			out[k] = m
		default:
			out[k] = v
		}
	}
	return out, nil
}

// secretValues reads --secret name=@file|@-|env:VAR flags.
func secretValues(specs []string, stdin io.Reader) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range specs {
		name, spec, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--secret %q: want NAME=@FILE, NAME=@- or NAME=env:VARIABLE", redactSecretFlag(kv))
		}
		v, err := readSecretSpec(spec, stdin)
		if err != nil {
			return nil, fmt.Errorf("--secret %s: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}

// redactSecretFlag keeps a mistyped --secret value out of error messages.
func redactSecretFlag(kv string) string {
	if len(kv) > 12 {
		return kv[:4] + "…"
	}
	return kv
}

func newSourcesAddCmd(c *client) *cobra.Command {
	var (
		label, id, subdomain, domain, baseURL, tokenFile, tokenEnv string
		logTypes, sets, secrets                                    []string
		disabled                                                   bool
	)
	cmd := &cobra.Command{
		Use:   "add TYPE --label LABEL [flags]",
		Short: "Onboard a source (okta, http, file); it starts at once",
		Long: `Onboard a source. Settings are given with --set KEY=VALUE (see 'prowl sources types'),
secrets with --secret NAME=@FILE, NAME=@- (standard input) or NAME=env:VARIABLE: never as a
plain value, which would stay in your shell history.

For okta, --subdomain, --domain and --base-url set the org, and the API token comes from
--token-file or --token-env, else from standard input (a hidden prompt on a terminal).
For http, --token-file and --token-env set the token clients must send.`,
		Example: `  prowl sources add okta --label "Okta prod" --subdomain acme --token-file ~/.okta-token
  prowl sources add okta --label "Okta simulator" --base-url http://127.0.0.1:8090 --token-env OKTA_SIM_TOKEN
  prowl sources add http --label "App events" --set log_type=AWS.CloudTrail --secret token=@push-token.txt
  prowl sources add file --label "Exports" --set dir=/var/exports --set pattern='*.ndjson.gz' --set log_type=Okta.SystemLog`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			typ := args[0]
			types, err := c.sourceTypes()
			if err != nil {
				return err
			}
			spec, err := findType(sourceKind, types, typ)
			if err != nil {
				return err
			}
			if label == "" {
				return fmt.Errorf("--label is required: the source's display name, e.g. \"Okta prod\"")
			}
			config, err := setValues(sets, spec.Fields)
			if err != nil {
				return err
			}
			for flag, kv := range map[string][2]string{"subdomain": {"subdomain", subdomain}, "domain": {"domain", domain}, "base-url": {"base_url", baseURL}} {
				if kv[1] == "" {
					continue
				}
				if typ != "okta" {
					return fmt.Errorf("--%s is for okta sources; use --set for %s", flag, typ)
				}
				config[kv[0]] = kv[1]
			}
			sec, err := secretValues(secrets, cmd.InOrStdin())
			if err != nil {
				return err
			}
			// The type's main secret may come from --token-file/--token-env
			// or a prompt.
			main := ""
			switch typ {
			case "okta":
				main = "api_token"
			case "http":
				main = "token"
				if config["auth"] == "hmac" {
					main = "hmac_secret"
				}
			}
			if (tokenFile != "" || tokenEnv != "") && main == "" {
				return fmt.Errorf("--token-file and --token-env are for okta and http sources; use --secret")
			}
			if main != "" && sec[main] == "" {
				var v string
				switch {
				case tokenFile != "":
					v, err = readSecretFile(tokenFile)
				case tokenEnv != "":
					v, err = readSecretEnv(tokenEnv)
				default:
					prompt := map[string]string{"api_token": "Okta API token", "token": "Bearer token clients will send", "hmac_secret": "HMAC key"}[main]
					v, err = promptSecret(prompt+" (not shown): ", cmd.InOrStdin(), cmd.ErrOrStderr())
				}
				if err != nil {
					return fmt.Errorf("%s: %w", main, err)
				}
				sec[main] = v
			}
			body := map[string]any{"type": typ, "label": label, "config": config, "enabled": !disabled}
			if len(logTypes) > 0 {
				body["log_types"] = logTypes
			}
			var s apiSource
			if err := c.createComponent(sourceKind, body, id, sec, &s); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Added source %s (%s, %q)", s.ID, s.Type, termsafe.Escape(s.Label))
			switch {
			case s.StartError != "":
				fmt.Fprintf(w, " but it could not start: %s\n", termsafe.Escape(s.StartError))
			case !s.Enabled:
				fmt.Fprintln(w, ", disabled.")
			default:
				fmt.Fprintln(w, "; it is running.")
			}
			if len(s.Secrets) > 0 {
				fmt.Fprintf(w, "  secrets stored (encrypted): %s\n", strings.Join(s.Secrets, ", "))
			}
			if s.PushPath != "" {
				fmt.Fprintf(w, "  clients POST events to %s%s\n", strings.TrimRight(c.server, "/"), s.PushPath)
			}
			fmt.Fprintf(w, "  check it with: prowl sources show %s\n", s.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&label, "label", "", "display name (required)")
	f.StringVar(&id, "id", "", "source id (default: made from the label)")
	f.StringSliceVar(&logTypes, "log-type", nil, "log types the source emits (default: the type's)")
	addSettingFlags(cmd, &sets, &secrets)
	f.BoolVar(&disabled, "disabled", false, "save the source without starting it")
	f.StringVar(&subdomain, "subdomain", "", "okta: the org's subdomain (acme for acme.okta.com)")
	f.StringVar(&domain, "domain", "", "okta: okta.com (default), oktapreview.com or okta-emea.com")
	f.StringVar(&baseURL, "base-url", "", "okta: full org URL instead of subdomain and domain (custom domains, the simulator)")
	f.StringVar(&tokenFile, "token-file", "", "okta, http: read the API token from this file")
	f.StringVar(&tokenEnv, "token-env", "", "okta, http: read the API token from this environment variable")
	return cmd
}

func newSourcesShowCmd(c *client) *cobra.Command {
	var quarantine int
	var format string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a source: config, health and quarantined events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s apiSource
			path := "/api/v1/sources/" + url.PathEscape(args[0])
			w := cmd.OutOrStdout()
			if id := args[0]; id == "import" || strings.HasPrefix(id, "import:") {
				// Imports are not configured sources; they only have a quarantine.
				return showQuarantine(w, c, path, id, max(quarantine, 1), format)
			}
			if err := c.do("GET", path, nil, &s); err != nil {
				return err
			}
			if format == "json" {
				return printJSON(w, s)
			}
			fmt.Fprintf(w, "%s  %s (%s)\n", s.ID, termsafe.Escape(s.Label), s.Type)
			state := "running"
			if !s.Enabled {
				state = "disabled"
			}
			var cfg map[string]any
			json.Unmarshal(s.Config, &cfg)
			keys := make([]string, 0, len(cfg))
			for k := range cfg {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			rows := [][2]string{{"state", state}, {"log types", strings.Join(s.LogTypes, ", ")}}
			for _, k := range keys {
				rows = append(rows, [2]string{k, fmt.Sprint(cfg[k])})
			}
			rows = append(rows, [2]string{"secrets", strings.Join(s.Secrets, ", ")})
			if s.PushPath != "" {
				rows = append(rows, [2]string{"push URL", strings.TrimRight(c.server, "/") + s.PushPath})
			}
			h := s.Health
			rows = append(rows,
				[2]string{"events", fmt.Sprintf("%d (%s)", h.Events, sizeText(h.Bytes))},
				[2]string{"last events", ago(h.LastIngestAt)},
				[2]string{"newest event", ago(h.LastEventAt)},
				[2]string{"last poll", ago(h.LastPollAt)},
				[2]string{"quarantined", fmt.Sprint(s.Quarantined)})
			if h.LastError != "" {
				rows = append(rows, [2]string{"last error", fmt.Sprintf("%s (%s)", h.LastError, ago(h.LastErrorAt))})
			}
			if s.StartError != "" {
				rows = append(rows, [2]string{"start error", s.StartError})
			}
			for _, kv := range rows {
				if kv[1] != "" {
					fmt.Fprintf(w, "  %-14s %s\n", kv[0]+":", termsafe.Escape(kv[1]))
				}
			}
			if quarantine > 0 && s.Quarantined > 0 {
				return showQuarantine(w, c, path, "", quarantine, "text")
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&quarantine, "quarantine", 5, "quarantined events to show")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}

// showQuarantine prints the first quarantined events of a source or an
// import (title names an import, "" for a source already shown).
func showQuarantine(w io.Writer, c *client, path, title string, limit int, format string) error {
	var q struct {
		Items []struct {
			ID         int64     `json:"id"`
			LogType    string    `json:"log_type"`
			Reason     string    `json:"reason"`
			Detail     string    `json:"detail"`
			ReceivedAt time.Time `json:"received_at"`
			Raw        string    `json:"raw"`
		} `json:"items"`
		Total int `json:"total"`
	}
	if err := c.do("GET", fmt.Sprintf("%s/quarantine?limit=%d", path, limit), nil, &q); err != nil {
		return err
	}
	if format == "json" {
		return printJSON(w, q)
	}
	if title != "" {
		fmt.Fprintf(w, "%s  (imported events)\n", termsafe.Escape(title))
	}
	fmt.Fprintf(w, "  quarantined events (%d of %d):\n", len(q.Items), q.Total)
	for _, it := range q.Items {
		fmt.Fprintf(w, "    #%d %s %s: %s\n      %s\n", it.ID, it.ReceivedAt.Local().Format("2006-01-02 15:04"),
			termsafe.Escape(it.Reason), termsafe.Escape(it.Detail), termsafe.Escape(truncate(it.Raw, 200)))
	}
	return nil
}

func newSourcesDeleteCmd(c *client) *cobra.Command {
	return newComponentDeleteCmd(c, sourceKind, "Stop and delete sources with their secrets and checkpoints (quarantined events are kept)")
}

func newSourcesReprocessCmd(c *client) *cobra.Command {
	return &cobra.Command{
		Use:   "reprocess ID",
		Short: "Normalize a source's quarantined events again (after fixing a schema)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct{ Moved, Remaining int }
			if err := c.do("POST", "/api/v1/sources/"+url.PathEscape(args[0])+"/quarantine/reprocess", nil, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d events left the quarantine; %d remain\n", out.Moved, out.Remaining)
			return nil
		},
	}
}

// request sends a request with a raw body and returns the answer's status
// and body, whatever the status.
func (c *client) request(method, path string, header http.Header, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequest(method, strings.TrimRight(c.server, "/")+path, body)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("is prowl running at %s? %w", c.server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, data, err
}
