package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/prowl-siem/prowl/internal/api"
	"github.com/prowl-siem/prowl/internal/store"
)

// sourceRunner lets the API start, restart and stop sources while the
// server runs.
type sourceRunner struct{ s *Server }

var _ api.SourceRunner = sourceRunner{}

func (r sourceRunner) Restart(ctx context.Context, rec store.SourceRecord) error {
	return r.s.RestartSource(ctx, rec)
}

func (r sourceRunner) Stop(ctx context.Context, id string) error { return r.s.StopSource(ctx, id) }

// RestartSource stops the source if it runs (waiting, within ctx, until it
// has saved its checkpoint and returned), then starts it as rec describes
// if rec is enabled. A push source is registered on /ingest/{id} again.
func (s *Server) RestartSource(ctx context.Context, rec store.SourceRecord) error {
	s.sourceOps.Lock()
	defer s.sourceOps.Unlock()
	if err := s.stopSource(ctx, rec.ID); err != nil {
		return err
	}
	if !rec.Enabled {
		return nil
	}
	s.sourcesMu.Lock()
	runCtx := s.sourcesCtx
	s.sourcesMu.Unlock()
	if runCtx == nil {
		return errors.New("the server's sources are not running yet")
	}
	if runCtx.Err() != nil {
		return errors.New("the server is shutting down")
	}
	// The last error was about the previous config or secrets; the new
	// instance reports its own.
	if err := s.store.SetSourceError(ctx, rec.ID, ""); err != nil {
		s.log.Warn("clearing the error of a restarted source", "source", rec.ID, "err", err)
	}
	return s.runSource(runCtx, rec)
}

// StopSource stops the source if it runs and waits, within ctx, until it
// has returned.
func (s *Server) StopSource(ctx context.Context, id string) error {
	s.sourceOps.Lock()
	defer s.sourceOps.Unlock()
	return s.stopSource(ctx, id)
}

func (s *Server) stopSource(ctx context.Context, id string) error {
	s.sourcesMu.Lock()
	cancel, done := s.running[id], s.sourceDone[id]
	s.sourcesMu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("source %s is still stopping: %w", id, ctx.Err())
		}
	}
	s.sourcesMu.Lock()
	if s.sourceDone[id] == done {
		delete(s.running, id)
		delete(s.sourceDone, id)
	}
	s.sourcesMu.Unlock()
	return nil
}
