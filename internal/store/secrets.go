package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFileName is the secrets key file that Open uses by default, in the
// same directory as the database. Back it up with the database: without it
// the stored secrets cannot be read.
const KeyFileName = "secrets.key"

const keySize = 32 // AES-256

// OpenKey returns the secrets key kept in dataDir/KeyFileName, creating the
// directory and a new random key (file mode 0600) if there is none. The file
// holds the key hex-encoded on one line.
func OpenKey(dataDir string) ([]byte, error) {
	return loadOrCreateKey(filepath.Join(dataDir, KeyFileName))
}

func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading secrets key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != keySize {
		return nil, fmt.Errorf("secrets key %s is not %d hex-encoded bytes", path, keySize)
	}
	return key, nil
}

func createKey(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating secrets key: %w", err)
	}
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("creating secrets key: %w", err)
	}
	// O_EXCL: if another process created the key meanwhile, use theirs.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadOrCreateKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("creating secrets key: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("writing secrets key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing secrets key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing secrets key: %w", err)
	}
	return key, nil
}

func (s *Store) aead() (cipher.AEAD, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key == nil {
		key, err := loadOrCreateKey(s.keyPath)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		s.key = key
	}
	block, err := aes.NewCipher(s.key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// secretAD binds a ciphertext to its row, so a sealed value copied to
// another source or name does not decrypt.
func secretAD(sourceID, name string) []byte {
	return []byte("prowl-secret\x00" + sourceID + "\x00" + name)
}

// PutSecret stores value for (sourceID, name), encrypted with AES-256-GCM
// under the store's key. The value never appears in errors or logs.
func (s *Store) PutSecret(ctx context.Context, sourceID, name string, value []byte) error {
	if sourceID == "" || name == "" {
		return errors.New("store: secret needs a source id and a name")
	}
	g, err := s.aead()
	if err != nil {
		return err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	sealed := g.Seal(nonce, nonce, value, secretAD(sourceID, name))
	_, err = s.exec(ctx, `
INSERT INTO source_secrets (source_id, name, sealed, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (source_id, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
		sourceID, name, sealed, s.now().UnixNano())
	if err != nil {
		return fmt.Errorf("store: saving secret %q of source %q: %w", name, sourceID, err)
	}
	return nil
}

// GetSecret returns the decrypted secret, or an error wrapping ErrNotFound.
func (s *Store) GetSecret(ctx context.Context, sourceID, name string) ([]byte, error) {
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT sealed FROM source_secrets WHERE source_id = ? AND name = ?`,
		sourceID, name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: secret %q of source %q: %w", name, sourceID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading secret %q of source %q: %w", name, sourceID, err)
	}
	g, err := s.aead()
	if err != nil {
		return nil, err
	}
	if len(sealed) < g.NonceSize() {
		return nil, fmt.Errorf("store: secret %q of source %q is corrupt", name, sourceID)
	}
	plain, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], secretAD(sourceID, name))
	if err != nil {
		return nil, fmt.Errorf("store: secret %q of source %q cannot be decrypted (was the key file %s replaced?)",
			name, sourceID, s.keyPath)
	}
	return plain, nil
}

// DeleteSecret removes a secret; removing a missing one is not an error.
func (s *Store) DeleteSecret(ctx context.Context, sourceID, name string) error {
	_, err := s.exec(ctx, `DELETE FROM source_secrets WHERE source_id = ? AND name = ?`, sourceID, name)
	if err != nil {
		return fmt.Errorf("store: deleting secret %q of source %q: %w", name, sourceID, err)
	}
	return nil
}
