// Package aesgcm encrypts secrets at rest with AES-256-GCM under the
// server's key-encryption key: the client_secret_jwt secrets, which Sigil
// must read back to check an HMAC (RFC 7523 §2.2 with RFC 7518 §3.2).
package aesgcm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigilauth/sigil/application"
)

// KeySize is the size of the key-encryption key: AES-256.
const KeySize = 32

// version1 leads every sealed secret: AES-256-GCM, a random 96-bit nonce,
// the version byte as additional data. A later format gets a new byte.
const version1 byte = 1

// Box seals and opens secrets. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

var _ application.SecretBox = (*Box)(nil)

// New returns a Box under kek, which must be exactly KeySize bytes.
func New(kek []byte) (*Box, error) {
	if len(kek) != KeySize {
		return nil, fmt.Errorf("key-encryption key must be %d bytes, got %d", KeySize, len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("aes cipher: %w", err)
	}
	// A fresh random nonce per message, prepended by Seal: safe for far
	// more secrets than a server will ever hold (2^32 per key).
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain: version byte, 12-byte random nonce, ciphertext and
// 16-byte tag. The version byte is authenticated too.
func (b *Box) Seal(plain []byte) ([]byte, error) {
	ad := []byte{version1}
	out := make([]byte, 1, 1+b.aead.Overhead()+len(plain))
	out[0] = version1
	return b.aead.Seal(out, nil, plain, ad), nil
}

// Open decrypts what Seal produced, refusing anything altered or sealed
// under another key.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	if len(sealed) < 1+b.aead.Overhead() {
		return nil, errors.New("sealed secret is too short")
	}
	if sealed[0] != version1 {
		return nil, fmt.Errorf("sealed secret has unknown version %d", sealed[0])
	}
	plain, err := b.aead.Open(nil, nil, sealed[1:], sealed[:1])
	if err != nil {
		return nil, errors.New("sealed secret fails authentication: another key-encryption key, or altered")
	}
	return plain, nil
}

// ParseKey decodes a key-encryption key from base64 (standard or URL
// alphabet, padded or not; what `openssl rand -base64 32` prints). Its
// errors never quote the input.
func ParseKey(b64 string) ([]byte, error) {
	s := strings.TrimSpace(b64)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("key-encryption key must decode to %d bytes, got %d", KeySize, len(key))
		}
		return key, nil
	}
	return nil, errors.New("key-encryption key is not valid base64")
}

// maxKeyFileBytes bounds what LoadKey reads: the key is 44 characters.
const maxKeyFileBytes = 1 << 10

// LoadKey reads a key-encryption key, base64-encoded, from path. It
// refuses a file that group or others may access: whoever reads the key
// reads every sealed secret. A missing file gives an error matching
// fs.ErrNotExist.
func LoadKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open key file: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the check and the read are of
	// the same file.
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is open to group or others (mode %04o): make it private with chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if len(b) > maxKeyFileBytes {
		return nil, fmt.Errorf("key file %s is too large to hold a key", path)
	}
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

// CreateKeyFile draws a random key-encryption key and writes it,
// base64-encoded, to a new file at path readable by its owner only. It
// fails, matching fs.ErrExist, if the file exists: overwriting a key
// would make every secret sealed under it unreadable.
func CreateKeyFile(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("draw key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("write key file: %w", err)
	}
	// Make the new directory entry durable too: losing the key loses the
	// secrets. Not every platform can sync a directory; that is no error.
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		_ = dir.Sync()
		_ = dir.Close()
	}
	return key, nil
}
