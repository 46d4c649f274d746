package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/termsafe"
)

type apiDestination struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Severities []string        `json:"severities"`
	AlertTypes []string        `json:"alert_types"`
	Settings   json.RawMessage `json:"settings"`
	Enabled    bool            `json:"enabled"`
	Secrets    []string        `json:"secrets"`
}

type apiDestinationType struct {
	apiComponentType
}

func newDestinationsCmd() *cobra.Command {
	c := &client{}
	cmd := &cobra.Command{
		Use:     "destinations",
		Aliases: []string{"destination", "dest"},
		Short:   "Configure and test where a running prowl delivers alerts",
		Long: `Configure and test where a running prowl delivers alerts (see docs/destinations.md).
Changes apply to the next delivery at once.`,
	}
	addClientFlags(cmd, c)
	cmd.AddCommand(newDestinationsListCmd(c), newDestinationsTypesCmd(c), newDestinationsAddCmd(c),
		newDestinationsTestCmd(c), newDestinationsDeleteCmd(c))
	return cmd
}

func orAll(list []string) string {
	if len(list) == 0 {
		return "all"
	}
	return strings.Join(list, ",")
}

func newDestinationsListCmd(c *client) *cobra.Command {
	return newComponentListCmd(c, destinationKind, "List destinations", "ID\tTYPE\tENABLED\tSEVERITIES\tALERT TYPES\tSECRETS\tNAME",
		func(d apiDestination) string {
			return fmt.Sprintf("%s\t%s\t%v\t%s\t%s\t%s\t%s", d.ID, d.Type, d.Enabled, orAll(d.Severities), orAll(d.AlertTypes),
				strings.Join(d.Secrets, ","), termsafe.Escape(d.Name))
		})
}

func (c *client) destinationTypes() ([]apiDestinationType, error) {
	return getList[apiDestinationType](c, destinationKind.typesPath, "types")
}

func newDestinationsTypesCmd(c *client) *cobra.Command {
	return newComponentTypesCmd[apiDestinationType](c, destinationKind, "Show the destination types and their settings (for --set and --secret)")
}

func newDestinationsAddCmd(c *client) *cobra.Command {
	var (
		name, id                              string
		severities, alertTypes, sets, secrets []string
		disabled, test                        bool
	)
	cmd := &cobra.Command{
		Use:   "add TYPE --name NAME [flags]",
		Short: "Add a destination (webhook, slack, pagerduty, teams)",
		Long: `Add a destination. Settings are given with --set KEY=VALUE (see 'prowl destinations types'),
secrets (Slack and Teams webhook URLs, the PagerDuty routing key, webhook signing secrets) with
--secret NAME=@FILE, NAME=@- (standard input) or NAME=env:VARIABLE: never as a plain value.`,
		Example: `  prowl destinations add slack --name "#secops" --severity high,critical --secret webhook_url=env:SLACK_WEBHOOK --test
  prowl destinations add webhook --name SOAR --set url=https://soar.example.com/hooks/prowl --secret signing_secret=@soar.key
  prowl destinations add pagerduty --name "On call" --severity critical --secret routing_key=@pd.key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			typ := args[0]
			if name == "" {
				return fmt.Errorf("--name is required")
			}
			types, err := c.destinationTypes()
			if err != nil {
				return err
			}
			spec, err := findType(destinationKind, types, typ)
			if err != nil {
				return err
			}
			settings, err := setValues(sets, spec.Fields)
			if err != nil {
				return err
			}
			sec, err := secretValues(secrets, cmd.InOrStdin())
			if err != nil {
				return err
			}
			body := map[string]any{"type": typ, "name": name, "settings": settings, "enabled": !disabled}
			if len(severities) > 0 {
				body["severities"] = severities
			}
			if len(alertTypes) > 0 {
				body["alert_types"] = alertTypes
			}
			var d apiDestination
			if err := c.createComponent(destinationKind, body, id, sec, &d); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Added destination %s (%s, %q): severities %s, alert types %s", d.ID, d.Type, termsafe.Escape(d.Name),
				orAll(d.Severities), orAll(d.AlertTypes))
			if !d.Enabled {
				fmt.Fprint(w, ", disabled")
			}
			fmt.Fprintln(w, ".")
			if test {
				return runDestinationTest(cmd, c, d.ID)
			}
			fmt.Fprintf(w, "  send a test alert with: prowl destinations test %s\n", d.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "display name (required); rules may name it in destinations()")
	f.StringVar(&id, "id", "", "destination id for OutputIds (default: made from the name)")
	f.StringSliceVar(&severities, "severity", nil, "severities routed here by default, e.g. high,critical (default all)")
	f.StringSliceVar(&alertTypes, "alert-types", nil, "RULE, RULE_ERROR, SYSTEM (default all)")
	addSettingFlags(cmd, &sets, &secrets)
	f.BoolVar(&disabled, "disabled", false, "save it without delivering to it")
	f.BoolVar(&test, "test", false, "send a test alert once added")
	return cmd
}

func runDestinationTest(cmd *cobra.Command, c *client, id string) error {
	var out struct {
		OK         bool   `json:"ok"`
		Error      string `json:"error"`
		StatusCode int    `json:"status_code"`
		DurationMS int64  `json:"duration_ms"`
	}
	status, data, err := c.request("POST", "/api/v1/destinations/"+url.PathEscape(id)+"/test", nil, nil)
	if err != nil {
		return err
	}
	if json.Unmarshal(data, &out) != nil || (status != 200 && out.Error == "") {
		return fmt.Errorf("testing destination %s: HTTP %d", id, status)
	}
	w := cmd.OutOrStdout()
	if out.OK {
		fmt.Fprintf(w, "Test alert to %s delivered (%d ms).\n", id, out.DurationMS)
		return nil
	}
	if status == 404 {
		return fmt.Errorf("testing destination %s: %s", id, out.Error)
	}
	fmt.Fprintf(w, "Test alert to %s failed: %s\n", id, termsafe.Escape(out.Error))
	return exitError{1}
}

func newDestinationsTestCmd(c *client) *cobra.Command {
	return &cobra.Command{
		Use:   "test ID",
		Short: "Send one test alert (SYSTEM, INFO, marked as a test) and report the outcome",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDestinationTest(cmd, c, args[0])
		},
	}
}

func newDestinationsDeleteCmd(c *client) *cobra.Command {
	return newComponentDeleteCmd(c, destinationKind, "Delete destinations and their secrets")
}
