package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/config"
	"github.com/prowl-siem/prowl/internal/server"
)

func newUpCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run prowl: sources, detections, alerts, destinations and the API, in one process",
		Long: `Run prowl with embedded defaults: a data directory (./prowl-data) holding the
control-plane database, the event log and detection snapshots; the bundled
packs (Okta enabled); the HTTP API and ingest endpoints.

--demo also starts a local Okta System Log simulator with a steady generated
feed that includes attacks, and onboards it as an Okta source, so alerts
appear within a minute.

Every setting can come from prowl.yaml, a PROWL_* environment variable or a
flag; flags win over the environment, which wins over the file. SIGINT or
SIGTERM stops intake, lets the engine finish what was acknowledged, and exits.`,
		Example: `  prowl up --demo
  prowl up --listen 0.0.0.0:8080 --admin-token "$TOKEN" --detections ./detections`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.Environ())
			if err != nil {
				return err
			}
			return runServer(cmd.Context(), cfg)
		},
	}
	config.AddFlags(cmd.Flags())
	return cmd
}

func runServer(parent context.Context, cfg *config.Config) error {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.LogLevel]
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger) // components that log through the default (sources) follow --log-level too
	if cfg.AdminToken == "" && !loopback(cfg.Listen) {
		return fmt.Errorf("listen %s is not a loopback address: set admin_token (PROWL_ADMIN_TOKEN) to protect the API", cfg.Listen)
	}
	applyGoMemoryLimit(cfg, os.Environ())
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if err := srv.Start(runCtx); err != nil {
		cancel()
		srv.Wait()
		srv.Close()
		return err
	}
	fmt.Fprintf(os.Stderr, "prowl is up: API http://%s  (Ctrl-C to stop)\n", srv.Addr())
	<-ctx.Done()
	logger.Info("shutting down: stopping intake and draining the engine")
	srv.Stop(30 * time.Second)
	cancel()
	srv.Wait()
	srv.Close()
	logger.Info("stopped")
	return nil
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect prowl's configuration"}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (file, environment, flags), secrets redacted",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.Environ())
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), cfg.Show())
			return nil
		},
	}
	config.AddFlags(show.Flags())
	cmd.AddCommand(show)
	return cmd
}
