package file

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowl-siem/prowl/internal/sources/sourcestest"
)

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func lines(from, to int) []byte {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "{\"n\":%d}\n", i)
	}
	return b.Bytes()
}

func records(r *sourcestest.Recorder) string {
	var s []string
	for _, rec := range r.Records() {
		s = append(s, string(rec))
	}
	return strings.Join(s, " ")
}

func TestImportFormats(t *testing.T) {
	dir := t.TempDir()
	paths := []string{
		write(t, dir, "a.ndjson", []byte("\xef\xbb\xbf{\"n\":1}\r\n\r\n{\"n\":2}")), // BOM, CRLF, blank, no final newline
		write(t, dir, "b.json", []byte("[\n {\"n\":3},\n {\"n\":4}\n]\n")),
		write(t, dir, "c.log", gzipped([]byte("{\"n\":5}\n{\"n\":6}\n"))), // gzip detected by content
		write(t, dir, "d.json.gz", gzipped([]byte(`[{"n":7}]`))),
		write(t, dir, "e.json", []byte(" {\"n\": 8} ")),
		write(t, dir, "empty.ndjson", nil),
	}
	sink := sourcestest.NewRecorder()
	var calls [][2]int64
	st, err := Import(context.Background(), paths, "Custom.X", sink, func(d, tot int64) { calls = append(calls, [2]int64{d, tot}) })
	if err != nil {
		t.Fatal(err)
	}
	want := `{"n":1} {"n":2} {"n":3} {"n":4} {"n":5} {"n":6} {"n":7} {"n": 8}`
	if got := records(sink); got != want {
		t.Fatalf("records\n got %s\nwant %s", got, want)
	}
	if st.Files != 6 || st.Records != 8 || st.Invalid != 0 || len(st.Problems) != 0 {
		t.Fatalf("stats %+v", st)
	}
	for _, b := range sink.Batches() {
		if b.LogType != "Custom.X" || b.SourceID != ImportSourceID {
			t.Fatalf("batch %+v", b)
		}
	}
	var total int64
	for _, p := range paths {
		fi, _ := os.Stat(p)
		total += fi.Size()
	}
	last := calls[len(calls)-1]
	if last != [2]int64{total, total} {
		t.Fatalf("last progress %v, want %d/%d", last, total, total)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] < calls[i-1][0] {
			t.Fatalf("progress went back: %v", calls)
		}
	}
}

func TestImportPassesInvalidRecordsOnWithLines(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "bad.ndjson", []byte("{\"n\":1}\n{\"n\":2}\nnot json\n{\"n\":4}\n42\n{\"n\":6}\n"))
	sink := sourcestest.NewRecorder()
	st, err := Import(context.Background(), []string{p}, "T", sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 6 || st.Invalid != 2 || len(st.Problems) != 2 {
		t.Fatalf("stats %+v", st)
	}
	if got := records(sink); got != `{"n":1} {"n":2} not json {"n":4} 42 {"n":6}` {
		t.Fatalf("records %s", got)
	}
	if s := st.Problems[0].String(); !strings.HasSuffix(s, "bad.ndjson:3: invalid JSON: invalid character 'o' in literal null (expecting 'u')") {
		t.Fatalf("problem %q", s)
	}
	if s := st.Problems[1].String(); !strings.HasSuffix(s, "bad.ndjson:5: not a JSON object") {
		t.Fatalf("problem %q", s)
	}
}

func TestImportLongLineIsCutAndPassedOn(t *testing.T) {
	old := maxRecord
	maxRecord = 64
	defer func() { maxRecord = old }()
	dir := t.TempDir()
	long := `{"pad":"` + strings.Repeat("x", 200) + `"}`
	p := write(t, dir, "long.ndjson", []byte("{\"n\":1}\n"+long+"\n{\"n\":3}\n"))
	sink := sourcestest.NewRecorder()
	st, err := Import(context.Background(), []string{p}, "T", sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := sink.Records()
	if len(recs) != 3 || len(recs[1]) != 64 || string(recs[2]) != `{"n":3}` {
		t.Fatalf("records %q", recs)
	}
	if st.Invalid != 1 || !strings.Contains(st.Problems[0].String(), "long.ndjson:2: record longer than 64 bytes") {
		t.Fatalf("stats %+v", st)
	}
}

func TestImportBrokenArraySaysWhere(t *testing.T) {
	dir := t.TempDir()
	// An invalid element is still a record: passed on, reported with its line.
	p := write(t, dir, "inner.json", []byte("[\n{\"n\":1},\n{\"n\":2},\n{\"n\" 3},\n 4\n]"))
	sink := sourcestest.NewRecorder()
	st, err := Import(context.Background(), []string{p}, "T", sink, nil)
	if err != nil || st.Records != 4 || st.Invalid != 2 {
		t.Fatalf("stats %+v, %v", st, err)
	}
	if s := st.Problems[0].String(); !strings.HasSuffix(s, "inner.json:4: invalid JSON: invalid character '3' after object key") {
		t.Fatalf("problem %q", s)
	}
	if s := st.Problems[1].String(); !strings.HasSuffix(s, "inner.json:5: not a JSON object") {
		t.Fatalf("problem %q", s)
	}

	// Structural damage ends the file, and the error says where.
	sink = sourcestest.NewRecorder()
	p = write(t, dir, "broken.json", []byte("[\n{\"n\":1},\n{\"n\":2}\n{\"n\":3}\n]"))
	st, err = Import(context.Background(), []string{p}, "T", sink, nil)
	if err == nil || !strings.Contains(err.Error(), "broken.json:4:1: expected , or ] after array element") ||
		!strings.Contains(err.Error(), "the 2 records before it were imported") {
		t.Fatalf("err = %v", err)
	}
	if st.Records != 2 || sink.Len() != 2 {
		t.Fatalf("stats %+v", st)
	}
	p2 := write(t, dir, "short.json.gz", gzipped([]byte(`[{"n":1},{"n":2}`)))
	_, err = Import(context.Background(), []string{p2}, "T", sink, nil)
	if err == nil || !strings.Contains(err.Error(), "short.json.gz:1:17: unexpected end of input") {
		t.Fatalf("err = %v", err)
	}
}

func TestImportBatchesAndSinkFailure(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "many.ndjson", lines(0, 2500))
	sink := sourcestest.NewRecorder()
	st, err := Import(context.Background(), []string{p}, "T", sink, nil)
	if err != nil || st.Records != 2500 || len(sink.Batches()) != 3 {
		t.Fatalf("stats %+v, %d batches, %v", st, len(sink.Batches()), err)
	}
	sink = sourcestest.NewRecorder()
	sink.FailNext(2, nil)
	// The first batch fails: nothing counted, the error says where it stopped.
	st, err = Import(context.Background(), []string{p}, "T", sink, nil)
	if err == nil || !strings.Contains(err.Error(), "stopped at line 1000, record 1000") || st.Records != 0 {
		t.Fatalf("stats %+v err %v", st, err)
	}
	if _, err := Import(context.Background(), []string{filepath.Join(dir, "missing")}, "T", sink, nil); err == nil {
		t.Fatal("missing file accepted")
	}
	if _, err := Import(context.Background(), []string{dir}, "T", sink, nil); err == nil {
		t.Fatal("directory accepted")
	}
}
