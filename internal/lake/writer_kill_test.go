//go:build unix

package lake

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/batchrec"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/wal"
)

const killEnv = "PROWL_LAKE_KILL"

// TestLakeKillHelper is the child of TestKillMidFlush: it writes three
// 100-event records ahead and runs the lake with FlushRows 100, killing
// itself (SIGKILL) at the given stage of the third flush.
func TestLakeKillHelper(t *testing.T) {
	spec := os.Getenv(killEnv)
	if spec == "" {
		t.Skip("helper process")
	}
	stage, dir, _ := strings.Cut(spec, " ")
	log, err := wal.Open(wal.Options{Dir: filepath.Join(dir, "wal")})
	if err != nil {
		t.Fatal(err)
	}
	h := &storeHarness{t: t, reg: logtypes.NewRegistry()}
	h.norm = h.reg.NewNormalizer()
	h.log = log
	events := h.oktaEvents(300, 9, time.Second)
	for i := 0; i < 300; i += 100 {
		h.appendEvents(events[i : i+100])
	}
	hits := 0
	testHook = func(s string) {
		if s == stage {
			if hits++; hits == 3 {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				time.Sleep(time.Hour)
			}
		}
	}
	l, err := Open(Options{Dir: filepath.Join(dir, "lake"), Log: log, Registry: h.reg, FlushRows: 100, FlushInterval: time.Hour, DefaultRetention: -1})
	if err != nil {
		t.Fatal(err)
	}
	l.Run(context.Background())
}

// TestKillMidFlush kills a lake writer with SIGKILL at each stage of a
// flush and checks that reopening gives every event exactly once: files
// the manifest does not list are deleted and their rows written again,
// and rows the manifest lists are not written twice even though the log
// offset commit never happened.
func TestKillMidFlush(t *testing.T) {
	if os.Getenv(killEnv) != "" {
		t.Skip()
	}
	for _, stage := range []string{"copied", "written", "committed"} {
		t.Run(stage, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLakeKillHelper$")
			cmd.Env = append(os.Environ(), killEnv+"="+stage+" "+dir)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the helper was not killed: %v\n%s", err, out)
			}
			lakeDir := filepath.Join(dir, "lake")
			var tmps, parquets int
			filepath.WalkDir(lakeDir, func(p string, d os.DirEntry, err error) error {
				if strings.HasPrefix(d.Name(), tmpPrefix) {
					tmps++
				} else if strings.HasSuffix(p, ".parquet") {
					parquets++
				}
				return nil
			})
			log, err := wal.Open(wal.Options{Dir: filepath.Join(dir, "wal")})
			if err != nil {
				t.Fatal(err)
			}
			defer log.Close()
			committed, _ := log.CommittedOffset(Consumer)
			// What the crash left behind.
			switch stage {
			case "copied":
				if tmps != 1 || parquets != 2 || committed != 2 {
					t.Errorf("before reopening: %d temporary files, %d data files, offset %d", tmps, parquets, committed)
				}
			case "written":
				if tmps != 0 || parquets != 3 || committed != 2 {
					t.Errorf("before reopening: %d temporary files, %d data files, offset %d", tmps, parquets, committed)
				}
			case "committed":
				if parquets != 3 || committed != 2 {
					t.Errorf("before reopening: %d data files, offset %d", parquets, committed)
				}
			}
			l, err := Open(Options{Dir: lakeDir, Log: log, FlushRows: 100, FlushInterval: time.Hour, DefaultRetention: -1,
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			rctx, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- l.Run(rctx) }()
			deadline := time.Now().Add(20 * time.Second)
			for l.Offset() < 3 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			snap := l.Snapshot()
			defer snap.Release()
			files := snap.Files("okta_systemlog", time.Time{}, time.Time{})
			var n, distinct int
			if err := testDB(t).QueryRow("SELECT count(*), count(DISTINCT p_row_id) FROM "+readFilesSQL(files)).Scan(&n, &distinct); err != nil {
				t.Fatal(err)
			}
			if n != 300 || distinct != 300 || len(files) != 3 {
				t.Errorf("after recovery: %d rows, %d distinct, %d files; want 300 rows in 3 files", n, distinct, len(files))
			}
			if off, _ := log.CommittedOffset(Consumer); off != 3 {
				t.Errorf("log offset %d", off)
			}
			// Every event of the log is in the lake.
			var want []string
			r, _ := log.Reader(0)
			for i := 0; i < 3; i++ {
				data, _, _ := r.Next(context.Background())
				rec, _ := batchrec.Decode(data)
				for _, e := range rec.Events {
					want = append(want, sqlString(e.RowID))
				}
			}
			r.Close()
			var found int
			testDB(t).QueryRow("SELECT count(*) FROM " + readFilesSQL(files) + " WHERE p_row_id IN (" + strings.Join(want, ",") + ")").Scan(&found)
			if found != 300 {
				t.Errorf("%d of the log's 300 events are in the lake", found)
			}
		})
	}
}
