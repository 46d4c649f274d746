package server

import (
	"context"
	"fmt"
)

// resumeNotifications hands the dispatcher the alerts whose notification
// was still pending when the server last stopped: the engine committed
// them, but the process died (or recording their deliveries failed) before
// their deliveries were recorded. The store keeps a new alert's
// notification pending from the transaction that creates it until notify
// has queued its deliveries, so a crash in between delays the notification
// rather than losing it (a crash after the deliveries were recorded but
// before the notification was marked done queues them twice: at least
// once, like every delivery).
func (s *Server) resumeNotifications(ctx context.Context) error {
	pending, err := s.store.PendingNotifications(ctx)
	if err != nil {
		return fmt.Errorf("alerts waiting for notification: %w", err)
	}
	if len(pending) > 0 {
		s.log.Warn("queueing the deliveries of alerts created just before the last stop", "alerts", len(pending))
		s.notify(ctx, pending)
	}
	return nil
}
