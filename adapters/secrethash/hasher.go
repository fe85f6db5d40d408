// Package secrethash hashes client secrets with argon2id and checks them
// against argon2id or imported bcrypt hashes.
package secrethash

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/sigilauth/sigil/application"
)

// Params are argon2id's cost parameters (RFC 9106 §3.1).
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultParams are OWASP's recommended minimum for argon2id: 19 MiB,
// two passes, one lane (OWASP Password Storage Cheat Sheet).
var DefaultParams = Params{MemoryKiB: 19456, Time: 2, Threads: 1}

const (
	saltBytes = 16 // RFC 9106 §3.1 recommends 16 bytes
	keyBytes  = 32

	// Limits on what a stored hash may ask for. A hash is data: one edited
	// or imported with m=4194304 must fail, not take the server down.
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	minSaltBytes = 8 // RFC 9106 §3.1 minimum
	maxSaltBytes = 64
	minKeyBytes  = 16
	maxKeyBytes  = 128
	// maxBcryptCost bounds an imported bcrypt hash: cost 31 would run for
	// days. Cost 15 is over a second already.
	maxBcryptCost = 15
	bcryptHashLen = 60
)

// b64 is the encoding of the PHC string format and of the reference
// implementation: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// Hasher implements application.SecretHasher.
type Hasher struct {
	p Params
}

var _ application.SecretHasher = (*Hasher)(nil)

// NewHasher returns a Hasher that hashes new secrets with p; each zero
// field takes DefaultParams' value.
func NewHasher(p Params) *Hasher {
	if p.MemoryKiB == 0 {
		p.MemoryKiB = DefaultParams.MemoryKiB
	}
	if p.Time == 0 {
		p.Time = DefaultParams.Time
	}
	if p.Threads == 0 {
		p.Threads = DefaultParams.Threads
	}
	return &Hasher{p: p}
}

// HashSecret returns secret's argon2id hash as a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func (h *Hasher) HashSecret(secret string) (string, error) {
	if err := h.p.check(); err != nil {
		return "", err
	}
	salt := make([]byte, saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(secret), salt, h.p.Time, h.p.MemoryKiB, h.p.Threads, keyBytes)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.p.MemoryKiB, h.p.Time, h.p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifySecret reports whether secret matches hash, an argon2id PHC string
// with whatever parameters it was made with, or a bcrypt hash ($2a$, $2b$,
// $2y$) imported from another server. A wrong secret is (false, nil); a
// hash that cannot be read, or asks for absurd costs, is an error.
func (h *Hasher) VerifySecret(hash, secret string) (bool, error) {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return verifyArgon2id(hash, secret)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return verifyBcrypt(hash, secret)
	default:
		return false, errors.New("unknown secret hash format")
	}
}

func verifyArgon2id(hash, secret string) (bool, error) {
	p, salt, key, err := parseArgon2id(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(secret), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// parseArgon2id reads $argon2id$v=19$m=M,t=T,p=P$salt$hash.
func parseArgon2id(hash string) (Params, []byte, []byte, error) {
	bad := func(what string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("malformed argon2id hash: %s", what)
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("wrong number of fields")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	var p Params
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return bad("parameters")
	}
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return bad("parameters")
		}
		// Base 10, no sign: strconv.ParseUint refuses "+1" and "-1".
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter " + name)
		}
		switch name {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return bad("parameter p")
			}
			p.Threads = uint8(n)
		}
	}
	if err := p.check(); err != nil {
		return Params{}, nil, nil, err
	}
	salt, err := b64.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < minSaltBytes || len(salt) > maxSaltBytes {
		return bad("salt")
	}
	key, err := b64.Strict().DecodeString(parts[5])
	if err != nil || len(key) < minKeyBytes || len(key) > maxKeyBytes {
		return bad("hash")
	}
	return p, salt, key, nil
}

// check refuses parameters argon2 cannot run (RFC 9106 §3.1: at least one
// pass, one lane, and 8 KiB per lane) or that would exhaust the server.
func (p Params) check() error {
	switch {
	case p.Time < 1 || p.Threads < 1 || p.MemoryKiB < 8*uint32(p.Threads):
		return fmt.Errorf("argon2id parameters m=%d,t=%d,p=%d are invalid", p.MemoryKiB, p.Time, p.Threads)
	case p.MemoryKiB > maxMemoryKiB || p.Time > maxTime:
		return fmt.Errorf("argon2id parameters m=%d,t=%d,p=%d exceed the limits", p.MemoryKiB, p.Time, p.Threads)
	}
	return nil
}

func verifyBcrypt(hash, secret string) (bool, error) {
	// $2b$10$ + 22 characters of salt + 31 of hash. The library accepts a
	// truncated hash and reports a mismatch; a damaged hash is an error.
	if len(hash) != bcryptHashLen {
		return false, errors.New("malformed bcrypt hash: wrong length")
	}
	cost, err := bcrypt.Cost([]byte(hash))
	if err != nil {
		return false, fmt.Errorf("malformed bcrypt hash: %w", err)
	}
	if cost > maxBcryptCost {
		return false, fmt.Errorf("bcrypt cost %d exceeds the limit of %d", cost, maxBcryptCost)
	}
	err = bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("malformed bcrypt hash: %w", err)
	}
}
