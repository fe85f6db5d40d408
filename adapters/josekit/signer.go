package josekit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// accessTokenType is the typ header of a JWT access token (RFC 9068 §2.1).
const accessTokenType = "at+jwt"

// Signer signs access tokens as RFC 9068 JWTs.
type Signer struct {
	signers *signerCache
}

var _ application.AccessTokenSigner = (*Signer)(nil)

// NewSigner returns a Signer.
func NewSigner() *Signer { return &Signer{signers: newSignerCache(accessTokenType, true)} }

// SignAccessToken signs t with key and returns the compact JWS. The header
// carries alg, kid and typ "at+jwt" (RFC 9068 §2.1), the claims those of
// RFC 9068 §2.2.
func (s *Signer) SignAccessToken(_ context.Context, key domain.SigningKey, t domain.Token) (string, error) {
	if t.ExpiresAt.IsZero() {
		return "", errors.New("access token has no expiry")
	}
	if t.ID == "" {
		// RFC 9068 §2.2 requires jti, and the signer relies on it being
		// unique (signerCache.uniquePayloads).
		return "", errors.New("access token has no jti")
	}
	// A typical claims set is a few hundred bytes: an array on the stack
	// holds it without an allocation, and append moves a larger one to the
	// heap.
	var buf [512]byte
	raw, err := s.signers.sign(key, appendAccessTokenClaims(buf[:0], t))
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return raw, nil
}

// signerCache holds one signer per kid, built on first use: the token and
// introspection endpoints sign on every request, and everything that
// depends on the key and the header alone is done once. Every JWS it makes
// carries its typ header (RFC 8725 §3.11: each kind of JWT its own type).
type signerCache struct {
	typ string
	// uniquePayloads promises that no two payloads this cache signs are
	// the same: each access token carries a fresh random jti. ECDSA
	// signatures may then be deterministic (RFC 6979), which is cheaper
	// and safe: the attacks on deterministic ECDSA need one message
	// signed twice, once under an induced fault. Signed introspection
	// answers can repeat, so their signatures stay hedged.
	uniquePayloads bool

	mu      sync.RWMutex
	signers map[string]cachedSigner
}

// cachedSigner signs with one key. A key of the standard library's types
// gets a directSigner; any other crypto.Signer, a handle on a key held in
// an HSM or a KMS, goes through go-jose, which asks it for the signature
// and converts what it returns to the JWS form.
type cachedSigner struct {
	alg    domain.Algorithm
	priv   crypto.Signer
	pub    crypto.PublicKey
	direct *directSigner
	opaque jose.Signer
}

// builtFor reports whether s was built for key. The very key it was built
// with, the usual case, is recognized by identity: the standard library's
// Equal methods copy big integers to compare them, allocations a signature
// should not pay for. Any other key is compared by its public half.
func (s cachedSigner) builtFor(key domain.SigningKey) bool {
	if s.alg != key.Algorithm {
		return false
	}
	switch p := key.Private.(type) {
	case *rsa.PrivateKey:
		if q, ok := s.priv.(*rsa.PrivateKey); ok && p == q {
			return true
		}
	case *ecdsa.PrivateKey:
		if q, ok := s.priv.(*ecdsa.PrivateKey); ok && p == q {
			return true
		}
	case ed25519.PrivateKey:
		// A slice, not comparable with ==; its 64 bytes are the seed and
		// the public key (RFC 8032 §5.1.5), so equal bytes are the same key.
		if q, ok := s.priv.(ed25519.PrivateKey); ok && bytes.Equal(p, q) {
			return true
		}
	}
	return samePublicKey(s.pub, key.Public())
}

func newSignerCache(typ string, uniquePayloads bool) *signerCache {
	return &signerCache{typ: typ, uniquePayloads: uniquePayloads, signers: map[string]cachedSigner{}}
}

// sign signs payload with key and returns the compact JWS. payload is not
// kept: callers may pass a buffer they reuse.
func (c *signerCache) sign(key domain.SigningKey, payload []byte) (string, error) {
	signer, err := c.signerFor(key)
	if err != nil {
		return "", err
	}
	if signer.direct != nil {
		return signer.direct.sign(payload)
	}
	// go-jose keeps the payload in the JWS it returns, so it gets a copy:
	// otherwise every caller's buffer would have to live on the heap.
	jws, err := signer.opaque.Sign(bytes.Clone(payload))
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// signerFor returns the cached signer for key, building it if the kid is
// new or now names another key.
func (c *signerCache) signerFor(key domain.SigningKey) (cachedSigner, error) {
	if key.Private == nil {
		return cachedSigner{}, fmt.Errorf("signing key %s has no private key", key.ID)
	}
	if key.ID == "" {
		return cachedSigner{}, errors.New("signing key has no kid")
	}
	c.mu.RLock()
	cached, ok := c.signers[key.ID]
	c.mu.RUnlock()
	if ok && cached.builtFor(key) {
		return cached, nil
	}

	pub := key.Public()
	alg, ok := algorithms[key.Algorithm]
	if !ok || !alg.fits(pub) {
		return cachedSigner{}, fmt.Errorf("signing key %s cannot sign with %q", key.ID, key.Algorithm)
	}
	built := cachedSigner{alg: key.Algorithm, priv: key.Private, pub: pub}
	var err error
	switch key.Private.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		built.direct, err = newDirectSigner(key.Algorithm, key.ID, c.typ, key.Private, c.uniquePayloads)
	default:
		// A key held elsewhere (an HSM, a KMS) through crypto.Signer.
		built.opaque, err = jose.NewSigner(
			jose.SigningKey{Algorithm: alg.jose, Key: jose.JSONWebKey{Key: cryptosigner.Opaque(key.Private), KeyID: key.ID}},
			(&jose.SignerOptions{}).WithType(jose.ContentType(c.typ)),
		)
	}
	if err != nil {
		return cachedSigner{}, fmt.Errorf("build signer for key %s: %w", key.ID, err)
	}
	c.mu.Lock()
	c.signers[key.ID] = built
	c.mu.Unlock()
	return built, nil
}
