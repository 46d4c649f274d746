package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

func TestWaitForChangeSeesSpecEdits(t *testing.T) {
	dir := t.TempDir()
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	if err := watcher.Add(dir); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	changed := make(chan bool, 1)
	go func() { changed <- waitForChange(ctx, watcher) }()
	// A file that is neither Python nor YAML does not trigger a run.
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "rule.py"), []byte("def rule(e):\n    return True\n"), 0o644)
	select {
	case got := <-changed:
		if !got {
			t.Fatal("waitForChange returned false before the deadline")
		}
	case <-ctx.Done():
		t.Fatal("no rerun after editing a .py file")
	}
	cancelled, stop := context.WithCancel(context.Background())
	stop()
	if waitForChange(cancelled, watcher) {
		t.Error("a cancelled watch must stop")
	}
}
