package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/oktasim"
)

func newOktaSimCmd() *cobra.Command {
	var (
		addr        string
		token       string
		rateLimit   int
		seed        int64
		eps         float64
		attacks     []string
		attackEvery int
		users       int
		backfill    time.Duration
		late        float64
		verbose     bool
	)
	cmd := &cobra.Command{
		Use:   "okta-sim",
		Short: "Serve a local Okta System Log API fed with live generated events",
		Long: `Serve GET /api/v1/logs like an Okta org does (authentication, polling and
bounded pagination, filter and q, rate limits, Okta's error bodies), fed live
by the same generator as "prowl gen okta": events appear as their published
time arrives, a small share of them late, with attacks replayed every
--attack-every events.

Point a collector at the printed base URL (as its Okta domain) with the
printed token (Authorization: SSWS <token>).`,
		Example: `  prowl okta-sim
  prowl okta-sim --addr 127.0.0.1:0 --token t0ken --attacks brute_force,mfa_fatigue --backfill 1h
  curl -H "Authorization: SSWS t0ken" "http://127.0.0.1:8090/api/v1/logs?limit=5"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if eps <= 0 {
				return errors.New("--events-per-second must be positive")
			}
			if late < 0 || late > 1 {
				return errors.New("--late must be between 0 and 1")
			}
			if token == "" {
				b := make([]byte, 16)
				if _, err := rand.Read(b); err != nil {
					return err
				}
				token = "sim" + hex.EncodeToString(b)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()

			sim := oktasim.New(oktasim.Options{Token: token, RateLimit: rateLimit})
			stream, err := gen.NewOktaStream(gen.OktaOptions{
				Seed: seed, Start: time.Now().Add(-backfill), Spacing: time.Duration(float64(time.Second) / eps),
				Users: users, Attacks: attacks, AttackEvery: attackEvery,
			})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			base := "http://" + ln.Addr().String()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Okta System Log simulator\n  base URL: %s\n  endpoint: %s/api/v1/logs\n  token:    %s\n", base, base, token)
			fmt.Fprintf(out, "  try:      curl -H 'Authorization: SSWS %s' '%s/api/v1/logs?limit=5'\n", token, base)
			if len(attacks) > 0 {
				every := attackEvery
				if every <= 0 {
					every = 5000
				}
				fmt.Fprintf(out, "  attacks:  %v, one every %d events\n", attacks, every)
			}

			var handler http.Handler = sim
			if verbose {
				handler = logRequests(sim, cmd.ErrOrStderr())
			}
			srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
			serveErr := make(chan error, 1)
			go func() { serveErr <- srv.Serve(ln) }()

			var added atomic.Int64
			feedErr := make(chan error, 1)
			go func() {
				feedErr <- sim.Feed(ctx, func(emit func([]byte) error) error {
					for {
						e, ok, err := stream.Next()
						if err != nil || !ok {
							return err
						}
						if err := emit(e.JSON); err != nil {
							return err
						}
					}
				}, oktasim.FeedOptions{Realtime: true, Late: late, OnAdd: func([]byte) { added.Add(1) }})
			}()
			var result error
			select {
			case <-ctx.Done():
			case err := <-serveErr:
				result = err
			case err := <-feedErr:
				if err != nil && !errors.Is(err, context.Canceled) {
					result = err
				}
			}
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(shutdown)
			fmt.Fprintf(cmd.ErrOrStderr(), "served %d requests, %d events\n", sim.Requests(), added.Load())
			return result
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8090", "listen address (port 0 picks a free port)")
	f.StringVar(&token, "token", "", "API token clients must send (default: a random one, printed)")
	f.IntVar(&rateLimit, "rate-limit", 60, "requests per 60-second window (negative disables)")
	f.Int64Var(&seed, "seed", 1, "generator seed")
	f.Float64Var(&eps, "events-per-second", 10, "mean rate of generated events")
	f.StringSliceVar(&attacks, "attacks", nil, "attack scenarios to replay (see prowl gen okta --list-attacks)")
	f.IntVar(&attackEvery, "attack-every", 0, "start one attack every N events (default 5000)")
	f.IntVar(&users, "users", 200, "size of the synthetic workforce")
	f.DurationVar(&backfill, "backfill", 0, "start the log this long ago, so history is there at once")
	f.Float64Var(&late, "late", 0.01, "share of events committed late (eventual consistency)")
	f.BoolVarP(&verbose, "verbose", "v", false, "log every request on standard error")
	return cmd
}

// logRequests logs method, URL, status and duration of each request.
func logRequests(next http.Handler, w interface{ Write([]byte) (int, error) }) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: rw, status: 200}
		next.ServeHTTP(rec, r)
		fmt.Fprintf(w, "%s %s %s -> %d (%s)\n", start.Format("15:04:05.000"), r.Method, r.URL.RequestURI(), rec.status, time.Since(start).Round(time.Microsecond))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
