package server

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchDetections reloads detections when a file under the user's
// detection directories changes (changes within 300ms are taken together).
// A detection whose new version fails keeps running in its old version.
func (s *Server) watchDetections(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	for _, dir := range s.cfg.Detections {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != dir && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return w.Add(path)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-w.Events:
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
					w.Add(ev.Name)
				}
			}
			settle = time.After(300 * time.Millisecond)
		case err := <-w.Errors:
			s.log.Warn("watching detections", "err", err)
		case <-settle:
			s.Reload()
		}
	}
}

// Reload loads the detections again and swaps them into the engine.
func (s *Server) Reload() {
	repo, problems, err := s.loadRepo()
	if err != nil {
		s.log.Error("reloading detections", "err", err)
		return
	}
	reported, err := s.engine.Reload(repo, problems)
	if err != nil {
		s.log.Error("reloading detections", "err", err)
		return
	}
	for _, p := range reported {
		s.log.Warn("detection problem (the previous version keeps running)", "problem", p)
	}
	if s.sched != nil {
		s.sched.Replan() // scheduled rules and correlation rules follow at once
	}
	s.log.Info("detections reloaded", "detections", len(s.engine.Detections()), "problems", len(reported))
}
