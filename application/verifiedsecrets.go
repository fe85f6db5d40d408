package application

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
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
	key     [32]byte
	ttl     time.Duration
	entries *boundedCache[[sha256.Size]byte, string] // digest -> stored hash matched
}

func newVerifiedSecrets(ttl time.Duration, max int) *verifiedSecrets {
	v := &verifiedSecrets{ttl: ttl, entries: newBoundedCache[[sha256.Size]byte, string](max)}
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
	return v.entries.get(d, now)
}

func (v *verifiedSecrets) remember(d [sha256.Size]byte, hash string, now time.Time) {
	v.entries.put(d, hash, now.Add(v.ttl), now)
}
