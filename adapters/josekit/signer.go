package josekit

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"

	"github.com/sigilauth/sigil/adapters/internal/claims"
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
func NewSigner() *Signer { return &Signer{signers: newSignerCache(accessTokenType)} }

// SignAccessToken signs t with key and returns the compact JWS. The header
// carries alg, kid and typ "at+jwt" (RFC 9068 §2.1), the claims those of
// RFC 9068 §2.2.
func (s *Signer) SignAccessToken(_ context.Context, key domain.SigningKey, t domain.Token) (string, error) {
	if t.ExpiresAt.IsZero() {
		return "", errors.New("access token has no expiry")
	}
	payload, err := json.Marshal(accessTokenClaims{
		Issuer:    t.Issuer,
		Subject:   t.Subject,
		Audience:  claims.Audience(t.Audience),
		ExpiresAt: claims.NewNumericDate(t.ExpiresAt),
		IssuedAt:  claims.NewNumericDate(t.IssuedAt),
		NotBefore: claims.NewNumericDate(t.NotBefore),
		ID:        t.ID,
		ClientID:  t.ClientID,
		Scope:     claims.Scope(t.Scopes.String()),
	})
	if err != nil {
		return "", fmt.Errorf("marshal claims: %w", err)
	}
	raw, err := s.signers.sign(key, payload)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return raw, nil
}

// signerCache holds one jose.Signer per kid, built on first use: the token
// and introspection endpoints sign on every request. Every JWS it makes
// carries its typ header (RFC 8725 §3.11: each kind of JWT its own type).
type signerCache struct {
	typ string

	mu      sync.RWMutex
	signers map[string]cachedSigner
}

type cachedSigner struct {
	alg    domain.Algorithm
	pub    crypto.PublicKey
	signer jose.Signer
}

func newSignerCache(typ string) *signerCache {
	return &signerCache{typ: typ, signers: map[string]cachedSigner{}}
}

// sign signs payload with key and returns the compact JWS.
func (c *signerCache) sign(key domain.SigningKey, payload []byte) (string, error) {
	signer, err := c.signerFor(key)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// signerFor returns the cached signer for key, building it if the kid is
// new or now names another key.
func (c *signerCache) signerFor(key domain.SigningKey) (jose.Signer, error) {
	if key.Private == nil {
		return nil, fmt.Errorf("signing key %s has no private key", key.ID)
	}
	if key.ID == "" {
		return nil, errors.New("signing key has no kid")
	}
	pub := key.Public()
	c.mu.RLock()
	cached, ok := c.signers[key.ID]
	c.mu.RUnlock()
	if ok && cached.alg == key.Algorithm && samePublicKey(cached.pub, pub) {
		return cached.signer, nil
	}

	alg, ok := algorithms[key.Algorithm]
	if !ok || !alg.fits(pub) {
		return nil, fmt.Errorf("signing key %s cannot sign with %q", key.ID, key.Algorithm)
	}
	var material any = key.Private
	switch key.Private.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		// A key held elsewhere (an HSM, a KMS) through crypto.Signer.
		material = cryptosigner.Opaque(key.Private)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg.jose, Key: jose.JSONWebKey{Key: material, KeyID: key.ID}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(c.typ)),
	)
	if err != nil {
		return nil, fmt.Errorf("build signer for key %s: %w", key.ID, err)
	}
	c.mu.Lock()
	c.signers[key.ID] = cachedSigner{alg: key.Algorithm, pub: pub, signer: signer}
	c.mu.Unlock()
	return signer, nil
}
