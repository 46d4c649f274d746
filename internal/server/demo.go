package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/oktasim"
	"github.com/prowl-siem/prowl/internal/store"
)

// DemoSourceID is the Okta source `prowl up --demo` onboards.
const DemoSourceID = "demo-okta"

// startDemo serves a local Okta System Log simulator fed live by the
// generator (attacks included) and onboards it as an Okta source, the way a
// user onboards a real org: subdomain or URL, and an API token.
func (s *Server) startDemo(ctx context.Context) error {
	token := randomToken()
	sim := oktasim.New(oktasim.Options{Token: token, RateLimit: 600})
	ln, err := net.Listen("tcp", s.cfg.DemoOktaListen)
	if err != nil {
		return fmt.Errorf("demo Okta simulator: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	s.goRun("demo okta simulator", func() error {
		go func() {
			<-ctx.Done()
			srv.Close()
		}()
		if err := srv.Serve(ln); err != http.ErrServerClosed {
			return err
		}
		return nil
	})
	spacing := time.Duration(float64(time.Second) / s.cfg.DemoRate)
	opts := gen.OktaOptions{Seed: s.cfg.DemoSeed, Start: time.Now().UTC(), Spacing: spacing, Attacks: s.cfg.DemoAttacks,
		// An attack every few seconds, so the first alerts come well within a minute.
		AttackEvery: max(30, int(5*s.cfg.DemoRate))}
	stream, err := gen.NewOktaStream(opts)
	if err != nil {
		return fmt.Errorf("demo feed: %w", err)
	}
	s.goRun("demo feed", func() error {
		return sim.Feed(ctx, func(emit func([]byte) error) error {
			for {
				ev, ok, err := stream.Next()
				if err != nil || !ok {
					return err
				}
				if err := emit(ev.JSON); err != nil {
					return err
				}
			}
		}, oktasim.FeedOptions{Realtime: true})
	})
	config, _ := json.Marshal(map[string]any{"base_url": "http://" + ln.Addr().String(), "poll_interval": "5s", "lookback": "10m"})
	rec := store.SourceRecord{ID: DemoSourceID, Label: "Demo Okta (local simulator)", Type: "okta",
		LogTypes: []string{"Okta.SystemLog"}, Config: config, Enabled: true}
	if err := s.store.PutSource(ctx, rec); err != nil {
		return err
	}
	if err := s.store.PutSecret(ctx, DemoSourceID, "api_token", []byte(token)); err != nil {
		return err
	}
	// Each run has a new simulator: the old cursor means nothing to it.
	if err := s.store.PutCheckpoint(ctx, DemoSourceID, nil); err != nil {
		return err
	}
	s.log.Info("demo: Okta simulator onboarded as a source", "source", DemoSourceID, "simulator", "http://"+ln.Addr().String(),
		"events_per_second", s.cfg.DemoRate, "attacks", s.cfg.DemoAttacks)
	return nil
}
