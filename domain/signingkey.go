package domain

import (
	"crypto"
	"time"
)

// Algorithm is a JWS signing algorithm name (RFC 7518 §3.1).
type Algorithm string

// Signing algorithms Sigil signs with (RFC 7518 §3.1, RFC 8037 §3.1).
// HMAC algorithms are deliberately absent: an access token verified with a
// shared key could be forged by anyone who can verify it.
const (
	RS256 Algorithm = "RS256"
	PS256 Algorithm = "PS256"
	ES256 Algorithm = "ES256"
	EdDSA Algorithm = "EdDSA"
)

// SigningAlgorithms lists the algorithms a signing key may have.
var SigningAlgorithms = []Algorithm{RS256, PS256, ES256, EdDSA}

// Supported reports whether a is one of SigningAlgorithms.
func (a Algorithm) Supported() bool {
	for _, s := range SigningAlgorithms {
		if a == s {
			return true
		}
	}
	return false
}

// KeyState is where a signing key stands in its life.
type KeyState string

// Key states. A published key is in the JWKS but does not sign yet; the
// active key signs; a retired key no longer signs but stays published until
// every token it signed has expired.
const (
	KeyPublished KeyState = "published"
	KeyActive    KeyState = "active"
	KeyRetired   KeyState = "retired"
)

// SigningKey is a private key the authorization server signs tokens with.
type SigningKey struct {
	ID        string // kid
	Algorithm Algorithm
	State     KeyState
	// Private is the key material handle; its Public() goes into the JWKS.
	Private   crypto.Signer
	CreatedAt time.Time
	// ActivatedAt and RetiredAt date the key's moves to active and retired;
	// zero until they happen. A key is published from CreatedAt.
	ActivatedAt time.Time
	RetiredAt   time.Time
}

// Public returns the public half of the key.
func (k SigningKey) Public() crypto.PublicKey { return k.Private.Public() }

// Published reports whether the key belongs in the JWKS.
func (k SigningKey) Published() bool {
	return k.State == KeyPublished || k.State == KeyActive || k.State == KeyRetired
}
