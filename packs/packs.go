// Package packs embeds the detection packs bundled with prowl, written by
// this project. Extract writes them to a directory the analysis loader reads.
package packs

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed okta
var files embed.FS

// Extract writes the bundled packs under dir/<content hash>/ (once per
// content) and returns that directory.
func Extract(dir string) (string, error) {
	h := sha256.New()
	var paths []string
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(data)
		paths = append(paths, path)
		return nil
	})
	if err != nil {
		return "", err
	}
	target := filepath.Join(dir, hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(target, ".complete")); err == nil {
		return target, nil
	}
	for _, path := range paths {
		data, _ := files.ReadFile(path)
		out := filepath.Join(target, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(out, data, 0o644); err != nil {
			return "", err
		}
	}
	return target, os.WriteFile(filepath.Join(target, ".complete"), nil, 0o644)
}
