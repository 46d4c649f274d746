package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// The CLI code that sources and destinations (the configurable components
// of a running prowl) share: listing them, their types, and deleting them.

// componentKind names a kind of component in the API and in messages.
type componentKind struct {
	one, many string // "source", "sources": in messages and the list's key
	path      string // "/api/v1/sources"
	typesPath string // "/api/v1/source-types"
}

var (
	sourceKind      = componentKind{one: "source", many: "sources", path: "/api/v1/sources", typesPath: "/api/v1/source-types"}
	destinationKind = componentKind{one: "destination", many: "destinations", path: "/api/v1/destinations", typesPath: "/api/v1/destination-types"}
)

// apiComponentType is what every component type shows: the API's
// source-types and destination-types list them.
type apiComponentType struct {
	Type    string     `json:"type"`
	Name    string     `json:"name"`
	Summary string     `json:"summary"`
	Fields  []apiField `json:"fields"`
}

func (t apiComponentType) component() apiComponentType { return t }

// getList GETs path and returns the list the answer holds under key.
func getList[T any](c *client, path, key string) ([]T, error) {
	var out map[string]json.RawMessage
	if err := c.do("GET", path, nil, &out); err != nil {
		return nil, err
	}
	var list []T
	if raw, ok := out[key]; ok {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// findType returns the type named typ, or an error naming the types there are.
func findType[T interface{ component() apiComponentType }](k componentKind, types []T, typ string) (*T, error) {
	var names []string
	var found *T
	for i := range types {
		t := types[i].component()
		names = append(names, t.Type)
		if t.Type == typ {
			found = &types[i]
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no %s type %q (types: %s)", k.one, typ, strings.Join(names, ", "))
	}
	return found, nil
}

// createComponent POSTs a new component: body, with the id and the
// secrets when there are any. The answer (the component) goes into out.
func (c *client) createComponent(k componentKind, body map[string]any, id string, secrets map[string]string, out any) error {
	if id != "" {
		body["id"] = id
	}
	if len(secrets) > 0 {
		body["secrets"] = secrets
	}
	return c.do("POST", k.path, body, out)
}

// addSettingFlags adds the --set and --secret flags of an add command.
func addSettingFlags(cmd *cobra.Command, sets, secrets *[]string) {
	cmd.Flags().StringArrayVar(sets, "set", nil, "a setting, KEY=VALUE (repeatable)")
	cmd.Flags().StringArrayVar(secrets, "secret", nil, "a secret, NAME=@FILE, NAME=@- or NAME=env:VARIABLE (repeatable)")
}

// newComponentListCmd is "list": a table of the components, header its
// columns and row one line of it (tab-separated), or --format json.
func newComponentListCmd[T any](c *client, k componentKind, short, header string, row func(T) string) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := getList[T](c, k.path, k.many)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				return printJSON(w, list)
			}
			tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, header)
			for _, v := range list {
				fmt.Fprintln(tw, row(v))
			}
			tw.Flush()
			fmt.Fprintf(w, "%d %s\n", len(list), plural(len(list), k.one, k.many))
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

// newComponentTypesCmd is "types [TYPE]": the types and their fields.
func newComponentTypesCmd[T interface{ component() apiComponentType }](c *client, k componentKind, short string) *cobra.Command {
	return &cobra.Command{
		Use:   "types [TYPE]",
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			types, err := getList[T](c, k.typesPath, "types")
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			found := false
			for _, t := range types {
				t := t.component()
				if len(args) == 1 && t.Type != args[0] {
					continue
				}
				found = true
				fmt.Fprintf(w, "%s: %s\n  %s\n", t.Type, t.Name, t.Summary)
				printFields(w, t.Fields)
			}
			if !found {
				return fmt.Errorf("no %s type %q", k.one, args[0])
			}
			return nil
		},
	}
}

// newComponentDeleteCmd is "delete ID...".
func newComponentDeleteCmd(c *client, k componentKind, short string) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID...",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, id := range args {
				if err := c.do("DELETE", k.path+"/"+url.PathEscape(id), nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s %s\n", k.one, id)
			}
			return nil
		},
	}
}
