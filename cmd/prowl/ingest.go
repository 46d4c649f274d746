package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/sources"
	"github.com/prowl-siem/prowl/internal/sources/file"
)

func newIngestCmd() *cobra.Command {
	var (
		logType  string
		server   string
		progress string
	)
	cmd := &cobra.Command{
		Use:   "ingest FILE... --log-type TYPE",
		Short: "Import NDJSON or JSON-array files (optionally gzip; - for stdin)",
		Long: `Import reads NDJSON or JSON-array files, gzip-compressed or not, and sends their
events in batches. Records that are not valid JSON objects are still sent (the pipeline
quarantines them with the reason) and are listed here with file:line.

Without --server no pipeline is running yet in this version: the events are read,
checked and counted, and nothing is stored.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if server != "" {
				return errors.New("--server: sending to a prowl server is not available yet (the ingest API comes with the pipeline); run without it to check and count the files")
			}
			sink := &countingSink{}
			var bar *byteProgress
			if showProgress(progress, cmd.ErrOrStderr()) {
				bar = &byteProgress{w: cmd.ErrOrStderr(), start: time.Now()}
			}
			st, err := file.Import(cmd.Context(), args, logType, sink, bar.update)
			bar.finish()
			out := cmd.OutOrStdout()
			if err != nil && st.Records == 0 && st.Files == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "prowl ingest:", err)
				return exitError{1}
			}
			for _, p := range st.Problems {
				fmt.Fprintln(out, p.String())
			}
			if extra := st.Invalid - int64(len(st.Problems)); extra > 0 {
				fmt.Fprintf(out, "... and %d more records that are not JSON objects\n", extra)
			}
			fmt.Fprintf(out, "%d %s, %d records (%s) read as %s", st.Files, plural(st.Files, "file", "files"), st.Records, sizeText(st.Bytes), logType)
			if st.Invalid > 0 {
				fmt.Fprintf(out, "; %d would be quarantined (not JSON objects)", st.Invalid)
			}
			fmt.Fprintln(out, ".")
			fmt.Fprintln(out, "Dry run: nothing was stored (no ingest pipeline in this version).")
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "prowl ingest:", err)
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&logType, "log-type", "", "log type of the events, e.g. Okta.SystemLog (required)")
	cmd.Flags().StringVar(&server, "server", "", "prowl server URL to send the events to (not available yet)")
	cmd.Flags().StringVar(&progress, "progress", "auto", "progress bar on stderr: auto (when it is a terminal), always or never")
	cmd.MarkFlagRequired("log-type")
	return cmd
}

// countingSink acknowledges and counts batches; it stands in for the
// ingest pipeline until there is one.
type countingSink struct {
	mu      sync.Mutex
	records int64
}

func (s *countingSink) Ingest(_ context.Context, b sources.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records += int64(len(b.Records))
	return nil
}

func showProgress(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// byteProgress draws "[######......]  45%  12.3 MiB / 27.1 MiB" on one
// line, at most every 100ms. A nil one does nothing.
type byteProgress struct {
	w           io.Writer
	start, last time.Time
	done, total int64
	drawn       bool
}

func (p *byteProgress) update(done, total int64) {
	if p == nil {
		return
	}
	p.done, p.total = done, total
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.draw()
	}
}

func (p *byteProgress) draw() {
	p.drawn = true
	if p.total <= 0 { // standard input: size unknown
		fmt.Fprintf(p.w, "\r%s read", sizeText(p.done))
		return
	}
	const width = 30
	frac := min(float64(p.done)/float64(p.total), 1)
	filled := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%%  %s / %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		frac*100, sizeText(p.done), sizeText(p.total))
}

func (p *byteProgress) finish() {
	if p == nil {
		return
	}
	p.draw()
	fmt.Fprintf(p.w, "  (%s)\n", time.Since(p.start).Round(time.Millisecond))
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
