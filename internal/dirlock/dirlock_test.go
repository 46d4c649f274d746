//go:build unix

package dirlock

import (
	"path/filepath"
	"testing"
)

func TestLockExcludes(t *testing.T) {
	dir := t.TempDir()
	f, err := Lock(dir, "wal", "Log")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lock(dir, "wal", "Log")
	if want := "wal: " + dir + " is in use by another process or Log"; err == nil || err.Error() != want {
		t.Fatalf("second Lock: %v, want %q", err, want)
	}
	f.Close()
	g, err := Lock(dir, "wal", "Log")
	if err != nil {
		t.Fatalf("Lock after Close: %v", err)
	}
	g.Close()
	if _, err := Lock(filepath.Join(dir, "missing"), "lake", "Lake"); err == nil || err.Error()[:6] != "lake: " {
		t.Fatalf("Lock of a missing directory: %v", err)
	}
}
