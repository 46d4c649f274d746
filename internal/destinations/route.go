package destinations

import (
	"log/slog"
	"slices"
	"strings"
)

// Route returns the destinations an alert goes to, each at most once, in the
// order of all. It follows Panther:
//
//  1. If the alert's destinations() result is set (Alert.Destinations is not
//     nil): ["SKIP"], any list containing "SKIP", or an empty list delivers
//     nowhere; otherwise each name resolves to the destination with that ID,
//     else that Name. Unknown names are ignored and logged; if none resolves
//     the alert falls through to step 2 rather than be lost to a typo.
//  2. Else, if the rule has OutputIds, those destinations (by ID, else Name).
//  3. Else every destination whose Severities contain the alert's severity
//     (empty: all severities) and whose AlertTypes contain the alert's type
//     (empty: RULE, RULE_ERROR and SYSTEM).
//
// Names in steps 1 and 2 override the severity and type filters. A disabled
// destination receives nothing, even when named.
func Route(a Alert, all []Config) []Config {
	return route(a, all, slog.Default())
}

func route(a Alert, all []Config, log *slog.Logger) []Config {
	if a.Destinations != nil {
		if len(a.Destinations) == 0 || slices.Contains(a.Destinations, Skip) {
			return nil
		}
		if out, ok := byName(a, a.Destinations, all, "destinations()", log); ok {
			return out
		}
		log.Warn("no destination named by destinations() exists; routing by OutputIds and severity instead",
			"alert", a.ID, "rule", a.RuleID, "names", a.Destinations)
	}
	if len(a.OutputIDs) > 0 {
		if out, ok := byName(a, a.OutputIDs, all, "OutputIds", log); ok {
			return out
		}
		log.Warn("no destination in the rule's OutputIds exists; routing by severity instead",
			"alert", a.ID, "rule", a.RuleID, "output_ids", a.OutputIDs)
	}
	var out []Config
	for _, c := range all {
		if c.Enabled && matchesDefault(c, a) {
			out = append(out, c)
		}
	}
	return out
}

// byName resolves names against all. ok is false when no name resolved to
// an existing destination (disabled ones count as resolved: the author named
// them on purpose).
func byName(a Alert, names []string, all []Config, from string, log *slog.Logger) (out []Config, ok bool) {
	picked := make([]bool, len(all))
	for _, name := range names {
		i := slices.IndexFunc(all, func(c Config) bool { return c.ID == name })
		if i < 0 {
			i = slices.IndexFunc(all, func(c Config) bool { return c.Name == name })
		}
		if i < 0 {
			log.Warn("alert names an unknown destination; ignoring it", "alert", a.ID, "rule", a.RuleID, "from", from, "name", name)
			continue
		}
		ok = true
		if !all[i].Enabled {
			log.Info("alert names a disabled destination; skipping it", "alert", a.ID, "rule", a.RuleID, "destination", all[i].Name)
			continue
		}
		picked[i] = true
	}
	for i, c := range all {
		if picked[i] {
			out = append(out, c)
		}
	}
	return out, ok
}

func matchesDefault(c Config, a Alert) bool {
	if len(c.Severities) > 0 && !slices.ContainsFunc(c.Severities, func(s string) bool { return strings.EqualFold(s, a.Severity) }) {
		return false
	}
	types := c.AlertTypes
	if len(types) == 0 {
		types = AlertTypes
	}
	typ := a.Type
	if typ == "" {
		typ = TypeRule
	}
	return slices.ContainsFunc(types, func(t string) bool { return strings.EqualFold(t, typ) })
}
