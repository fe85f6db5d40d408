package application

import (
	"context"
	"crypto"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sigilauth/sigil/domain"
)

// KeyRing holds the authorization server's signing keys in memory: the
// active key that signs, and every published key that verifies. It is
// filled by RotateSigningKeys and read on every token request, so reads take
// no lock.
type KeyRing struct {
	keys atomic.Pointer[[]domain.SigningKey]

	mu sync.Mutex // serialises writers
	// removed holds the kids Remove dropped. Kids are random and never
	// reused, so a key once removed stays out even if a reload that read
	// the store just before the key was deleted lands after Remove.
	removed map[string]bool
}

// Set replaces the keys, leaving out any that Remove dropped.
func (r *KeyRing) Set(keys []domain.SigningKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.removed) > 0 {
		keys = slices.DeleteFunc(slices.Clone(keys), func(k domain.SigningKey) bool { return r.removed[k.ID] })
	}
	r.keys.Store(&keys)
}

// Remove drops the key kid at once, for a key another node removed or
// revoked (reported on the event feed): tokens it signed stop
// introspecting as active here without waiting for the next reload. It
// reports whether the ring held the key.
func (r *KeyRing) Remove(kid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.removed == nil {
		r.removed = map[string]bool{}
	}
	r.removed[kid] = true
	keys := r.all()
	plan, err := domain.PlanRevocation(keys, kid)
	if err != nil {
		return false // not held
	}
	next := slices.DeleteFunc(slices.Clone(keys), func(k domain.SigningKey) bool { return k.ID == kid })
	// If the key was signing, the node that removed it handed signing to
	// the published key the same plan names: sign with it here too until
	// the reload, rather than with none.
	if plan.Activate != "" {
		for i := range next {
			if next[i].ID == plan.Activate {
				next[i].State = domain.KeyActive
			}
		}
	}
	r.keys.Store(&next)
	return true
}

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

// TrustsKey implements KeyTrust: kid is a published key of the ring.
func (r *KeyRing) TrustsKey(kid string) bool {
	for _, k := range r.all() {
		if k.ID == kid && k.Published() {
			return true
		}
	}
	return false
}

var (
	_ VerificationKeys = (*KeyRing)(nil)
	_ KeyTrust         = (*KeyRing)(nil)
)
