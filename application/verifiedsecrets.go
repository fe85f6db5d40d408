package application

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"hash"
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
	ttl      time.Duration
	entries  *BoundedCache[[sha256.Size]byte, string] // digest -> stored hash matched
	mu       sync.Mutex
	inFlight map[[sha256.Size]byte]*slowCheck

	// macs holds HMAC-SHA256 states keyed once with the process's random
	// key: every token request computes a digest, and keying an HMAC
	// costs two hash blocks and several allocations that Reset avoids.
	macs sync.Pool
}

func newVerifiedSecrets(ttl time.Duration, max int) *verifiedSecrets {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	v := &verifiedSecrets{
		ttl:      ttl,
		entries:  NewBoundedCache[[sha256.Size]byte, string](max),
		inFlight: map[[sha256.Size]byte]*slowCheck{},
	}
	v.macs.New = func() any { return hmac.New(sha256.New, key[:]) }
	return v
}

// digest is HMAC(key, id NUL secret): a client id holds no NUL, so two
// pairs never share a message.
func (v *verifiedSecrets) digest(id, secret string) [sha256.Size]byte {
	m := v.macs.Get().(hash.Hash)
	defer v.macs.Put(m)
	m.Reset()
	buf := make([]byte, 0, 128)
	buf = append(append(append(buf, id...), 0), secret...)
	m.Write(buf)
	var d [sha256.Size]byte
	m.Sum(d[:0])
	return d
}

// lookup returns the stored hash the credentials matched before, if they
// did within ttl.
func (v *verifiedSecrets) lookup(d [sha256.Size]byte, now time.Time) (string, bool) {
	return v.entries.Get(d, now)
}

func (v *verifiedSecrets) remember(d [sha256.Size]byte, hash string, now time.Time) {
	v.entries.Put(d, hash, now.Add(v.ttl), now)
}

// slowCheck is one slow verification that callers with the same digest
// wait for.
type slowCheck struct {
	done    chan struct{}
	matched string
	err     error
}

// share runs verify for the credentials of digest d, or, if a run for the
// same digest is already under way, waits for it and returns its result.
// A success is remembered before the run is released, so a request that
// comes in just after it finds the cache filled. Every caller waits as
// long as a slow verification takes, so a wrong secret is answered no
// sooner for being sent twice at once.
func (v *verifiedSecrets) share(d [sha256.Size]byte, now time.Time, verify func() (string, error)) (string, error) {
	v.mu.Lock()
	if c, ok := v.inFlight[d]; ok {
		v.mu.Unlock()
		<-c.done
		return c.matched, c.err
	}
	c := &slowCheck{done: make(chan struct{})}
	v.inFlight[d] = c
	v.mu.Unlock()

	defer func() {
		v.mu.Lock()
		delete(v.inFlight, d)
		v.mu.Unlock()
		close(c.done)
	}()
	c.matched, c.err = verify()
	if c.err == nil {
		v.remember(d, c.matched, now)
	}
	return c.matched, c.err
}
