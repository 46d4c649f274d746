package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/detect"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/pyrt"
)

// ErrUnknownDetection is returned (wrapped) by EvaluateRule for an ID the
// running version does not hold.
var ErrUnknownDetection = errors.New("no such detection")

// EvaluateRule runs one detection, a rule or a scheduled rule, over events
// and returns its matches and rule errors in event order. Unlike Evaluate
// it does not route by log type and ignores Enabled: the scheduler runs
// scheduled rules (which have no log types) over the rows of their
// queries, and replay runs a rule over the lake's history. A scheduled
// rule's rule() is optional (every row matches without it). The static
// prefilters are not used; the verdicts are the same.
//
// Events need only JSON; LogType selects the data model (for Python rules)
// and, with Time and RowID, fills the matches' LogType, EventTime and
// RowID.
func (e *Engine) EvaluateRule(ctx context.Context, ruleID string, events []logtypes.Event) ([]alerts.Match, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	c := e.cur
	var d *detect.Detection
	for _, x := range c.set.Detections {
		if x.Spec.ID == ruleID {
			d = x
			break
		}
	}
	if d == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownDetection, ruleID)
	}
	if k := d.Spec.Kind; k != analysis.KindRule && k != analysis.KindScheduledRule {
		return nil, fmt.Errorf("%s is a %s: only rules and scheduled rules evaluate events", ruleID, k)
	}
	python := d.Python >= 0
	if python {
		if c.pool == nil {
			return nil, fmt.Errorf("%s: no Python worker pool", ruleID)
		}
		if pe := c.pool.LoadErrors[ruleID]; pe != nil {
			return nil, fmt.Errorf("%s: cannot import: %s: %s", ruleID, pe.Type, pe.Message)
		}
	} else if d.Simple == nil {
		return nil, fmt.Errorf("%s has no rule to evaluate", ruleID)
	}
	perEvent := make([]*alerts.Match, len(events))
	var items []pyrt.Item
	var itemEvent []int
	for i := range events {
		ev := &events[i]
		var decoded map[string]any
		if d.Filter != nil || d.Simple != nil {
			var err error
			if decoded, err = decode(ev, nil); err != nil {
				return nil, fmt.Errorf("event %d (%s): %w", i, ev.RowID, err)
			}
		}
		if d.Filter != nil && !d.Filter.Match(decoded) {
			continue
		}
		if !python {
			if d.Simple.Match(decoded) {
				m := c.simpleMatch(d, ev, decoded)
				perEvent[i] = &m
			}
			continue
		}
		items = append(items, pyrt.Item{Event: ev.JSON, LogType: ev.LogType, Rules: []int{d.Python}})
		itemEvent = append(itemEvent, i)
	}
	if len(items) > 0 {
		results, err := c.pool.Run(ctx, pyrt.ModeBatch, items)
		if err != nil {
			return nil, err
		}
		for k, rs := range results {
			i := itemEvent[k]
			for _, r := range rs {
				if r.Rule != d.Python {
					continue
				}
				var m alerts.Match
				switch {
				case r.Error != nil:
					m = c.errorMatch(d, &events[i], r.Error)
				case r.Matched && r.Outputs != nil:
					m = c.pythonMatch(d, &events[i], r.Outputs)
				default:
					continue
				}
				perEvent[i] = &m
			}
		}
	}
	var out []alerts.Match
	for _, m := range perEvent {
		if m != nil {
			out = append(out, *m)
		}
	}
	return out, nil
}
