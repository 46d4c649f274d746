package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prowl-siem/prowl/internal/analysis"
)

// snapshotter copies the Python files of a repo into a content-addressed
// directory and records each detection's version (a hash of its spec and
// code). With no directory, files run in place and only versions are taken.
type snapshotter struct {
	dir      string
	versions map[string]string
}

// repo returns a copy of r whose Python files point at snapshots.
func (s *snapshotter) repo(r *analysis.Repo) (*analysis.Repo, error) {
	out := *r
	out.Detections = make([]*analysis.Detection, len(r.Detections))
	for i, d := range r.Detections {
		c := *d
		spec, _ := json.Marshal(d.Raw)
		h := sha256.New()
		h.Write(spec)
		if d.PythonFile != "" {
			path, sum, err := s.file(d.PythonFile)
			if err != nil {
				return nil, err
			}
			c.PythonFile = path
			h.Write([]byte(sum))
		}
		s.versions[d.ID] = hex.EncodeToString(h.Sum(nil))[:12]
		out.Detections[i] = &c
	}
	out.Globals = make([]*analysis.Global, len(r.Globals))
	for i, g := range r.Globals {
		c := *g
		path, _, err := s.file(g.PythonFile)
		if err != nil {
			return nil, err
		}
		c.PythonFile = path
		out.Globals[i] = &c
	}
	out.DataModels = make([]*analysis.DataModel, len(r.DataModels))
	for i, m := range r.DataModels {
		c := *m
		if m.PythonFile != "" {
			path, _, err := s.file(m.PythonFile)
			if err != nil {
				return nil, err
			}
			c.PythonFile = path
		}
		out.DataModels[i] = &c
	}
	return &out, nil
}

// file snapshots one file: dir/<hash>/<name>, written once.
func (s *snapshotter) file(path string) (string, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("reading %s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	if s.dir == "" {
		return path, hash, nil
	}
	target := filepath.Join(s.dir, hash[:16], filepath.Base(path))
	if _, err := os.Stat(target); err == nil {
		return target, hash, nil
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return "", "", err
	}
	tmp := target + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return "", "", err
	}
	return target, hash, os.Rename(tmp, target)
}
