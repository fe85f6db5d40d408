package bootstrap

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/sigilauth/sigil/adapters/aesgcm"
)

// keyEncryptionKey finds the key that encrypts secrets at rest: given
// inline, read from a file, or, for the embedded SQLite default only,
// created in a file beside the database when the database is new. An
// existing database whose key file is missing is refused: a new key
// could not open what the lost one sealed, and would stand in the way of
// the backup being restored. It never falls back to storing secrets in
// the clear: without a key, the auth role does not start.
func keyEncryptionKey(c Config, log *slog.Logger, fresh freshDatabase) ([]byte, error) {
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
		if !fresh {
			return nil, fmt.Errorf("the database %s exists but its key-encryption key file %s does not: restore the file from the backup "+
				"it was made with, or give --key-encryption-key-file; a new key could not open the secrets and keys sealed under the old one",
				sqliteFile(c.DatabaseDSN), path)
		}
		log.Info("creating the key-encryption key file; back it up with the database", "path", path)
		return aesgcm.CreateKeyFile(path)
	}
	return key, err
}

// freshDatabase tells whether the SQLite database file was missing when
// the app was composed, before anything could open (and so create) it.
type freshDatabase bool

// sqliteMissing reports whether c names an SQLite database file that
// does not exist yet.
func sqliteMissing(c Config) freshDatabase {
	if c.DatabaseDriver != SQLite {
		return false
	}
	_, err := os.Stat(sqliteFile(c.DatabaseDSN))
	return freshDatabase(errors.Is(err, fs.ErrNotExist))
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
func newSecretBox(c Config, log *slog.Logger, fresh freshDatabase) (*aesgcm.Box, error) {
	key, err := keyEncryptionKey(c, log, fresh)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	return aesgcm.New(key)
}
