package wal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	helperEnv      = "PROWL_WAL_KILL_HELPER"
	helperConsumer = "checker"
)

// killRecord is the payload of record i of the batch tagged tag: the parent
// regenerates it to check what the child acknowledged.
func killRecord(tag string, i int) []byte {
	h := fnv.New32a()
	h.Write([]byte(tag))
	n := (int(h.Sum32()) + i*131) % 1500
	p := fmt.Appendf(make([]byte, 0, 32+n), "%s/%d|", tag, i)
	for k := range n {
		p = append(p, byte('a'+(k*7+i)%26))
	}
	return p
}

// TestHelperProcess is the child of TestKill9: it appends acknowledged
// batches from several goroutines until it is killed, printing
// "ack <first> <count> <tag>" after each Append returns and
// "commit <offset>" after each consumer commit. It is not a test on its own.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper process for TestKill9")
	}
	var run int
	var dir string
	var interval time.Duration
	if _, err := fmt.Sscanf(os.Getenv(helperEnv), "%d %s %d", &run, &dir, &interval); err != nil {
		fmt.Fprintln(os.Stderr, "bad helper env:", err)
		os.Exit(2)
	}
	time.AfterFunc(2*time.Minute, func() { os.Exit(3) }) // never outlive a lost parent for long
	l, err := Open(Options{Dir: dir, SegmentBytes: 32 << 10, SyncInterval: interval})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		if _, err := fmt.Fprintf(os.Stdout, format, args...); err != nil {
			os.Exit(4)
		}
	}
	var acked atomic.Uint64 // highest acknowledged offset + 1
	for w := range 4 {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(run), uint64(w)))
			for seq := 0; ; seq++ {
				tag := fmt.Sprintf("r%d.w%d.b%d", run, w, seq)
				recs := make([][]byte, 1+rng.IntN(30))
				for i := range recs {
					recs[i] = killRecord(tag, i)
				}
				last, err := l.Append(context.Background(), recs)
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(2)
				}
				first := last + 1 - Offset(len(recs))
				say("ack %d %d %s\n", first, len(recs), tag)
				for {
					cur := acked.Load()
					if uint64(last+1) <= cur || acked.CompareAndSwap(cur, uint64(last+1)) {
						break
					}
				}
				if w == 0 && seq%8 == 7 {
					// The consumer processes up to half of what is acknowledged,
					// commits, and lets the log drop what it no longer needs.
					off := Offset(acked.Load() / 2)
					if cur, _ := l.CommittedOffset(helperConsumer); off < cur {
						off = cur
					}
					if err := l.CommitOffset(helperConsumer, off); err != nil {
						fmt.Fprintln(os.Stderr, "commit:", err)
						os.Exit(2)
					}
					say("commit %d\n", off)
					if err := l.Truncate(); err != nil {
						fmt.Fprintln(os.Stderr, "truncate:", err)
						os.Exit(2)
					}
				}
			}
		}()
	}
	select {}
}

type killAck struct {
	first Offset
	n     int
	tag   string
}

// TestKill9 SIGKILLs a process that is appending at a random moment, over
// and over on the same log, and checks after each kill that every record
// the process acknowledged is present and intact, that the consumer offset
// it committed survived, and that the log keeps working.
func TestKill9(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		t.Skip("inside the helper")
	}
	runs := 20
	if testing.Short() {
		runs = 5
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	var acks []killAck
	var committed Offset
	torn := 0
	for run := range runs {
		interval := DefaultSyncInterval
		if run%2 == 1 {
			interval = 0
		}
		killAfter := 1 + rng.IntN(200)
		newAcks, newCommit := runAndKill(t, run, dir, interval, killAfter)
		acks = append(acks, newAcks...)
		committed = max(committed, newCommit)

		l, err := Open(Options{Dir: dir})
		if err != nil {
			t.Fatalf("run %d: reopen after kill: %v", run, err)
		}
		if l.Recovered().DroppedBytes > 0 {
			torn++
		}
		verifyKilled(t, l, run, acks, committed)
		l.Close()
	}
	t.Logf("%d kills, %d left a torn tail, %d acknowledged batches verified", runs, torn, len(acks))
}

// runAndKill starts the helper, reads its acknowledgements until killAfter
// of them arrived, SIGKILLs it and returns every acknowledgement it printed
// (including those still in the pipe at the kill) and its last commit.
func runAndKill(t *testing.T, run int, dir string, interval time.Duration, killAfter int) ([]killAck, Offset) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %s %d", helperEnv, run, dir, int64(interval)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acks []killAck
	var commit Offset
	killed := false
	br := bufio.NewReader(out)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("run %d: reading helper output: %v", run, err)
			}
			break // a line cut by the kill (no newline) was never fully printed
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 4 && f[0] == "ack":
			first, _ := strconv.ParseUint(f[1], 10, 64)
			n, _ := strconv.Atoi(f[2])
			acks = append(acks, killAck{Offset(first), n, f[3]})
		case len(f) == 2 && f[0] == "commit":
			off, _ := strconv.ParseUint(f[1], 10, 64)
			commit = max(commit, Offset(off))
		default:
			t.Fatalf("run %d: unexpected helper output %q", run, line)
		}
		if !killed && len(acks) >= killAfter {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed || ctx.Err() != nil {
		t.Fatalf("run %d: helper ended before %d acknowledgements (got %d): %v\n%s", run, killAfter, len(acks), err, stderr.String())
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ProcessState.Exited() {
		t.Fatalf("run %d: helper was not killed by the signal: %v\n%s", run, err, stderr.String())
	}
	return acks, commit
}

func verifyKilled(t *testing.T, l *Log, run int, acks []killAck, committed Offset) {
	t.Helper()
	got, err := l.CommittedOffset(helperConsumer)
	if err != nil || got < committed {
		t.Fatalf("run %d: committed offset %d (%v), the helper had committed %d", run, got, err, committed)
	}
	first, next := l.First(), l.Next()
	if first > got {
		t.Fatalf("run %d: First %d is past the consumer's committed offset %d", run, first, got)
	}
	want := map[Offset][]byte{}
	for _, a := range acks {
		if a.first+Offset(a.n) > next {
			t.Fatalf("run %d: batch %s acknowledged at [%d,%d) but Next is %d", run, a.tag, a.first, a.first+Offset(a.n), next)
		}
		for i := range a.n {
			off := a.first + Offset(i)
			if _, dup := want[off]; dup {
				t.Fatalf("run %d: offset %d acknowledged twice", run, off)
			}
			if off >= first {
				want[off] = killRecord(a.tag, i)
			}
		}
	}
	r, err := l.Reader(first)
	if err != nil {
		t.Fatalf("run %d: %v", run, err)
	}
	defer r.Close()
	for off := first; off < next; off++ {
		rec, got, err := r.Next(context.Background())
		if err != nil || got != off {
			t.Fatalf("run %d: reading offset %d: got %d, %v", run, off, got, err)
		}
		if w, ok := want[off]; ok {
			if !bytes.Equal(rec, w) {
				t.Fatalf("run %d: acknowledged record %d is %.40q, want %.40q", run, off, rec, w)
			}
			delete(want, off)
		}
	}
	if len(want) > 0 {
		t.Fatalf("run %d: %d acknowledged records missing", run, len(want))
	}
}
