package packs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestExtractWritesEveryFileOnce(t *testing.T) {
	dir := t.TempDir()
	first, err := Extract(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(first, "okta", "okta_pack.yml")); err != nil {
		t.Fatalf("the Okta pack spec should be extracted: %v", err)
	}
	again, err := Extract(dir)
	if err != nil || again != first {
		t.Errorf("a second extract reuses the same directory: %s %s %v", first, again, err)
	}
}
