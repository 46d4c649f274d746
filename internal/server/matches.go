package server

import (
	"context"
	"log/slog"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/store"
)

// recordMatches writes every committed rule match and rule error to the
// lake's rule_matches and rule_errors tables, with the ID of the alert its
// dedup window stands for (and a rule match with the values the
// correlation rules that read it join on). They are buffered until the lake's next flush
// (seconds); the alerts themselves and the events kept with them are
// already durable in the control-plane database.
func (s *Server) recordMatches(ctx context.Context, matches []alerts.Match, alertIDs []string) {
	var ms []lake.RuleMatch
	var es []lake.RuleError
	now := s.now().UTC()
	for i := range matches {
		m := &matches[i]
		row := lake.RuleMatch{RowID: m.RowID, LogType: m.LogType, EventTime: m.EventTime, AlertID: alertIDs[i],
			RuleID: m.RuleID, Severity: m.Severity, Tags: m.Tags, Reports: m.Reports, AlertContext: m.AlertContext,
			AlertCreationTime: now, Event: m.Event}
		switch m.Type {
		case alerts.TypeRule:
			ms = append(ms, row)
		case alerts.TypeRuleError:
			es = append(es, lake.RuleError{RuleMatch: row, Error: m.Title})
		}
	}
	if len(ms) > 0 {
		s.corr.Add(ms)
		if err := s.lake.WriteRuleMatches(ctx, ms); err != nil {
			s.log.Warn("writing rule matches to the lake", "err", err)
		}
	}
	if len(es) > 0 {
		if err := s.lake.WriteRuleErrors(ctx, es); err != nil {
			s.log.Warn("writing rule errors to the lake", "err", err)
		}
	}
}

// quarantineTee is the pipeline's store that also copies quarantined
// records to the lake's quarantine table, where they can be searched with
// SQL next to the events of their source.
type quarantineTee struct {
	*store.Store
	lake *lake.Lake
	log  *slog.Logger
}

// Quarantine stores the records durably in the control plane (the copy
// that can be reprocessed), then buffers them for the lake.
func (q quarantineTee) Quarantine(ctx context.Context, recs []store.Quarantined) error {
	if err := q.Store.Quarantine(ctx, recs); err != nil {
		return err
	}
	rows := make([]lake.Quarantined, len(recs))
	for i, r := range recs {
		rows[i] = lake.Quarantined{SourceID: r.SourceID, LogType: r.LogType, Reason: r.Reason, Detail: r.Detail, Raw: r.Raw, ReceivedAt: r.ReceivedAt}
	}
	if err := q.lake.WriteQuarantine(ctx, rows); err != nil {
		q.log.Warn("copying quarantined records to the lake", "err", err)
	}
	return nil
}
