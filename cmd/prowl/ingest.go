package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/sources"
	"github.com/prowl-siem/prowl/internal/sources/file"
	"github.com/prowl-siem/prowl/internal/termsafe"
)

func newIngestCmd() *cobra.Command {
	var (
		logType  string
		server   string
		token    string
		label    string
		progress string
	)
	cmd := &cobra.Command{
		Use:   "ingest FILE... --log-type TYPE [--server URL]",
		Short: "Import NDJSON or JSON-array files (optionally gzip; - for stdin)",
		Long: `Import reads NDJSON or JSON-array files, gzip-compressed or not, and sends their
events in batches. Records that are not valid JSON objects are still sent (the pipeline
quarantines them with the reason) and are listed here with file:line.

With --server the events go to a running prowl (POST /api/v1/import), batch by batch;
each batch is acknowledged only once it is durable, and a progress bar shows the bytes
sent. The events' source id is "import", or "import:<label>" with --source.

Without --server nothing is sent: the files are read, checked and counted.`,
		Example: `  prowl ingest okta-2025-03-*.json.gz --log-type Okta.SystemLog --server http://127.0.0.1:8080 --source "Okta backfill"
  prowl ingest events.ndjson --log-type Okta.SystemLog          # check only`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sink sources.Sink = &countingSink{}
			var remote *importSink
			if server != "" {
				remote = &importSink{c: &client{server: server, token: token, http: &http.Client{Timeout: 10 * time.Minute}},
					logType: logType, label: label}
				sink = remote
			}
			var bar *byteProgress
			if showProgress(progress, cmd.ErrOrStderr()) {
				bar = &byteProgress{w: cmd.ErrOrStderr(), start: time.Now()}
			}
			st, err := file.Import(cmd.Context(), args, logType, sink, bar.update)
			bar.finish()
			out := cmd.OutOrStdout()
			if err != nil && st.Records == 0 && st.Files == 0 && (remote == nil || remote.accepted == 0) {
				fmt.Fprintln(cmd.ErrOrStderr(), "prowl ingest:", err)
				return exitError{1}
			}
			for _, p := range st.Problems {
				fmt.Fprintln(out, termsafe.Escape(p.String()))
			}
			if extra := st.Invalid - int64(len(st.Problems)); extra > 0 {
				fmt.Fprintf(out, "... and %d more records that are not JSON objects\n", extra)
			}
			if remote != nil {
				fmt.Fprintf(out, "%d %s, %d records (%s) imported into %s as %s (source %s): %d stored",
					st.Files, plural(st.Files, "file", "files"), remote.accepted, sizeText(remote.bytes), server, logType,
					remote.sourceID, remote.accepted-remote.quarantined)
				if remote.quarantined > 0 {
					fmt.Fprintf(out, ", %d quarantined (prowl sources show %s)", remote.quarantined, remote.sourceID)
				}
				fmt.Fprintln(out, ".")
			} else {
				fmt.Fprintf(out, "%d %s, %d records (%s) read as %s", st.Files, plural(st.Files, "file", "files"), st.Records, sizeText(st.Bytes), logType)
				if st.Invalid > 0 {
					fmt.Fprintf(out, "; %d would be quarantined (not JSON objects)", st.Invalid)
				}
				fmt.Fprintln(out, ".")
				fmt.Fprintln(out, "Check only: nothing was stored. Give --server to import into a running prowl.")
			}
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "prowl ingest:", err)
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&logType, "log-type", "", "log type of the events, e.g. Okta.SystemLog (required)")
	cmd.Flags().StringVar(&server, "server", "", "URL of a running prowl to import into; without it the files are only checked")
	cmd.Flags().StringVar(&token, "token", os.Getenv("PROWL_ADMIN_TOKEN"), "API bearer token (env PROWL_ADMIN_TOKEN)")
	cmd.Flags().StringVar(&label, "source", "", "a label for this import: the events' source id becomes import:<label>")
	cmd.Flags().StringVar(&progress, "progress", "auto", "progress bar on stderr: auto (when it is a terminal), always or never")
	cmd.MarkFlagRequired("log-type")
	return cmd
}

// importSink sends each batch to a running prowl's import API and returns
// once the server has made it durable.
type importSink struct {
	c        *client
	logType  string
	label    string
	sourceID string
	buf      bytes.Buffer
	zbuf     bytes.Buffer
	zw       *gzip.Writer

	accepted, quarantined, bytes int64
}

func (s *importSink) Ingest(_ context.Context, b sources.Batch) error {
	// One record per line. Valid records are compacted (a pretty-printed
	// object from a JSON array spans lines); the server quarantines the
	// others, whose line breaks become spaces so they stay one record.
	s.buf.Reset()
	var size int64
	for _, r := range b.Records {
		size += int64(len(r))
		if json.Valid(r) {
			if err := json.Compact(&s.buf, r); err != nil {
				return err
			}
		} else {
			s.buf.Write(bytes.Map(func(c rune) rune {
				if c == '\n' || c == '\r' {
					return ' '
				}
				return c
			}, r))
		}
		s.buf.WriteByte('\n')
	}
	s.zbuf.Reset()
	if s.zw == nil {
		s.zw, _ = gzip.NewWriterLevel(&s.zbuf, gzip.BestSpeed)
	} else {
		s.zw.Reset(&s.zbuf)
	}
	s.zw.Write(s.buf.Bytes())
	if err := s.zw.Close(); err != nil {
		return err
	}
	q := url.Values{"log_type": {s.logType}, "on_invalid": {"quarantine"}}
	if s.label != "" {
		q.Set("source", s.label)
	}
	header := http.Header{"Content-Type": {"application/x-ndjson"}, "Content-Encoding": {"gzip"}}
	status, data, err := s.c.request("POST", "/api/v1/import?"+q.Encode(), header, bytes.NewReader(s.zbuf.Bytes()))
	if err != nil {
		return err
	}
	var res struct {
		Accepted    int64  `json:"accepted"`
		Quarantined int64  `json:"quarantined"`
		SourceID    string `json:"source_id"`
		Error       string `json:"error"`
	}
	if json.Unmarshal(data, &res) != nil {
		return fmt.Errorf("%s: import: HTTP %d", s.c.server, status)
	}
	s.accepted += res.Accepted
	s.quarantined += res.Quarantined
	if status != http.StatusOK {
		if res.Error == "" {
			res.Error = http.StatusText(status)
		}
		return fmt.Errorf("the server refused the batch: %s (HTTP %d)", termsafe.Escape(res.Error), status)
	}
	s.sourceID = res.SourceID
	s.bytes += size
	return nil
}

// countingSink acknowledges and counts batches: the check-only mode.
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
