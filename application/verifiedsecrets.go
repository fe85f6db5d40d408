package application

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedSecrets remembers client credentials that passed the slow hash,
// so the next request with the same credentials costs one HMAC instead of
// an argon2id run. It holds no secret: entries are keyed by an HMAC of
// client id and secret under a key drawn at start and never stored, and
// hold the stored hash the secret matched, so a secret that was changed,
// rotated out or expired no longer matches the client's current record
// and goes the slow way again. Failed attempts are never remembered, so
// guessing always pays the slow hash.
type verifiedSecrets struct {
	key [32]byte
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[[sha256.Size]byte]verifiedSecret
}

type verifiedSecret struct {
	hash    string // the stored hash the secret matched
	expires time.Time
}

func newVerifiedSecrets(ttl time.Duration, max int) *verifiedSecrets {
	v := &verifiedSecrets{ttl: ttl, max: max, entries: map[[sha256.Size]byte]verifiedSecret{}}
	if _, err := rand.Read(v.key[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return v
}

// digest is HMAC(key, id NUL secret): a client id holds no NUL, so two
// pairs never share a message.
func (v *verifiedSecrets) digest(id, secret string) [sha256.Size]byte {
	m := hmac.New(sha256.New, v.key[:])
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	var d [sha256.Size]byte
	m.Sum(d[:0])
	return d
}

// lookup returns the stored hash the credentials matched before, if they
// did within ttl.
func (v *verifiedSecrets) lookup(d [sha256.Size]byte, now time.Time) (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.entries[d]
	if !ok || !now.Before(e.expires) {
		return "", false
	}
	return e.hash, true
}

func (v *verifiedSecrets) remember(d [sha256.Size]byte, hash string, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.entries[d]; !ok && len(v.entries) >= v.max {
		// Full: drop expired entries, or else one at random. The bound
		// keeps memory fixed whatever callers send.
		for k, e := range v.entries {
			if !now.Before(e.expires) {
				delete(v.entries, k)
			}
		}
		for k := range v.entries {
			if len(v.entries) < v.max {
				break
			}
			delete(v.entries, k)
		}
	}
	v.entries[d] = verifiedSecret{hash: hash, expires: now.Add(v.ttl)}
}
