package application

import (
	"context"
	"crypto"
	"sync/atomic"

	"github.com/sigilauth/sigil/domain"
)

// KeyRing holds the authorization server's signing keys in memory: the
// active key that signs, and every published key that verifies. It is
// filled by RotateSigningKeys and read on every token request, so reads take
// no lock.
type KeyRing struct {
	keys atomic.Pointer[[]domain.SigningKey]
}

// Set replaces the keys.
func (r *KeyRing) Set(keys []domain.SigningKey) { r.keys.Store(&keys) }

func (r *KeyRing) all() []domain.SigningKey {
	if p := r.keys.Load(); p != nil {
		return *p
	}
	return nil
}

// Active returns the key that signs new tokens.
func (r *KeyRing) Active() (domain.SigningKey, bool) {
	for _, k := range r.all() {
		if k.State == domain.KeyActive {
			return k, true
		}
	}
	return domain.SigningKey{}, false
}

// Published returns the keys that belong in the JWKS.
func (r *KeyRing) Published() []domain.SigningKey {
	var out []domain.SigningKey
	for _, k := range r.all() {
		if k.Published() {
			out = append(out, k)
		}
	}
	return out
}

// VerificationKey returns the public key of a published key.
func (r *KeyRing) VerificationKey(_ context.Context, kid string) (crypto.PublicKey, domain.Algorithm, error) {
	for _, k := range r.all() {
		if k.ID == kid && k.Published() {
			return k.Public(), k.Algorithm, nil
		}
	}
	return nil, "", domain.ErrNotFound
}

var _ VerificationKeys = (*KeyRing)(nil)
