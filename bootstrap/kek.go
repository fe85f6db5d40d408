package bootstrap

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/sigilauth/sigil/adapters/aesgcm"
)

// keyEncryptionKey finds the key that encrypts secrets at rest: given
// inline, read from a file, or, for the embedded SQLite default only,
// created on first start in a file beside the database. It never falls
// back to storing secrets in the clear: without a key, the auth role does
// not start.
func keyEncryptionKey(c Config, log *slog.Logger) ([]byte, error) {
	switch {
	case c.KeyEncryptionKey != "":
		return aesgcm.ParseKey(c.KeyEncryptionKey)
	case c.KeyEncryptionKeyFile != "":
		return aesgcm.LoadKey(c.KeyEncryptionKeyFile)
	case c.DatabaseDriver != "sqlite":
		return nil, errors.New("no key-encryption key: set --key-encryption-key (base64 of 32 random bytes, e.g. `openssl rand -base64 32`) or --key-encryption-key-file")
	}
	path := sqliteFile(c.DatabaseDSN) + ".kek"
	key, err := aesgcm.LoadKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		log.Info("creating the key-encryption key file; back it up with the database", "path", path)
		return aesgcm.CreateKeyFile(path)
	}
	return key, err
}

// sqliteFile is the file path of an SQLite DSN such as
// "file:sigil.db?_pragma=..." or plain "sigil.db".
func sqliteFile(dsn string) string {
	dsn = strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(dsn, '?'); i >= 0 {
		dsn = dsn[:i]
	}
	return dsn
}

// newSecretBox builds the at-rest encryption of the auth role.
func newSecretBox(c Config, log *slog.Logger) (*aesgcm.Box, error) {
	key, err := keyEncryptionKey(c, log)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	return aesgcm.New(key)
}
