package lake

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testEntry(path string, rows int64) fileEntry {
	return fileEntry{Table: "t", Path: path, Day: "2025-03-04", Hour: 1, Rows: rows, Bytes: 10,
		Min: time.Date(2025, 3, 4, 1, 0, 0, 0, time.UTC), Max: time.Date(2025, 3, 4, 1, 59, 0, 0, time.UTC)}
}

// TestManifestCommitsAndTornTail checks that commits survive reopening,
// that a torn last line (a crash mid-append) is ignored, that damage
// before the last line is refused, and that the manifest is compacted
// into one state line.
func TestManifestCommitsAndTornTail(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	m, err := openManifest(dir, true, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.commit(&commitRec{Offset: 5, Seq: 2, Add: []fileEntry{testEntry("t/a", 1), testEntry("t/b", 2)},
		Columns: map[string][]Column{"t": {{"x", "VARCHAR"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.commit(&commitRec{Offset: 5, Seq: 3, Add: []fileEntry{testEntry("t/c", 3)}, Remove: []string{"t/a", "t/b"}}); err != nil {
		t.Fatal(err)
	}
	m.close()
	path := filepath.Join(dir, manifestName)
	good, _ := os.ReadFile(path)
	if n := strings.Count(string(good), "\n"); n != 3 {
		t.Fatalf("%d lines", n)
	}
	check := func(m *manifest, paths ...string) {
		t.Helper()
		if len(m.state.files) != len(paths) {
			t.Fatalf("files %v, want %v", m.state.files, paths)
		}
		for _, p := range paths {
			if m.state.files[p] == nil || m.state.byTable["t"][p] == nil {
				t.Errorf("%s missing", p)
			}
		}
		if m.state.offset != 5 || m.state.seq != 3 || len(m.state.columns["t"]) != 1 {
			t.Errorf("state %+v", m.state)
		}
	}
	// A crash in the middle of appending a third commit.
	line, _ := encodeLine(&commitRec{Kind: "commit", Offset: 9, Add: []fileEntry{testEntry("t/d", 4)}})
	for _, torn := range [][]byte{line[:len(line)/2], append(append([]byte{}, line[:len(line)-5]...), 'x', '"', '}', '}', '\n')} {
		os.WriteFile(path, append(append([]byte{}, good...), torn...), 0o644)
		m, err := openManifest(dir, true, now)
		if err != nil {
			t.Fatal(err)
		}
		check(m, "t/c")
		if m.torn == "" {
			t.Error("the torn tail is not reported")
		}
		m.close()
		// Rewritten as one state line without the torn commit.
		data, _ := os.ReadFile(path)
		if strings.Count(string(data), "\n") != 1 || strings.Contains(string(data), "t/d") {
			t.Errorf("after open: %s", data)
		}
		os.WriteFile(path, good, 0o644)
	}
	// Damage before the last line is not a torn tail.
	bad := []byte(strings.Replace(string(good), `"t/a"`, `"t/A"`, 1))
	os.WriteFile(path, bad, 0o644)
	if _, err := openManifest(dir, true, now); err == nil || !strings.Contains(err.Error(), "damaged at line") {
		t.Errorf("damaged manifest: %v", err)
	}
	os.WriteFile(path, good, 0o644)
	m, err = openManifest(dir, true, now)
	if err != nil {
		t.Fatal(err)
	}
	check(m, "t/c")
	// Many commits: the file is rewritten as one state line.
	for i := range rewriteEvery {
		if _, err := m.commit(&commitRec{Offset: 5, Seq: 3, Remove: []string{"t/c"}, Add: []fileEntry{testEntry("t/c", int64(i))}}); err != nil {
			t.Fatal(err)
		}
	}
	m.close()
	data, _ := os.ReadFile(path)
	if strings.Count(string(data), "\n") != 1 {
		t.Errorf("%d lines after %d commits", strings.Count(string(data), "\n"), rewriteEvery)
	}
	m, err = openManifest(dir, true, now)
	if err != nil {
		t.Fatal(err)
	}
	check(m, "t/c")
	if m.state.files["t/c"].Rows != rewriteEvery-1 {
		t.Errorf("rows %d", m.state.files["t/c"].Rows)
	}
	m.close()
}

// TestManifestFailedAppendRecovers makes an append fail and checks that the
// manifest is rewritten without the failed commit and accepts the next.
func TestManifestFailedAppendRecovers(t *testing.T) {
	dir := t.TempDir()
	m, err := openManifest(dir, true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m.f.Close() // writes fail
	if _, err := m.commit(&commitRec{Offset: 1, Add: []fileEntry{testEntry("t/a", 1)}}); err == nil {
		t.Fatal("the commit should fail")
	}
	if len(m.state.files) != 0 {
		t.Error("a failed commit was applied")
	}
	if _, err := m.commit(&commitRec{Offset: 2, Add: []fileEntry{testEntry("t/b", 1)}}); err != nil {
		t.Fatal(err)
	}
	m.close()
	m, err = openManifest(dir, true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.state.files) != 1 || m.state.files["t/b"] == nil || m.state.offset != 2 {
		t.Errorf("state %+v", m.state)
	}
	m.close()
}
