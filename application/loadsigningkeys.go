package application

import (
	"context"
	"fmt"

	"github.com/sigilauth/sigil/domain"
)

// LoadSigningKeys fills the key ring from the key store, first generating
// and persisting an active key if the store has none, so that a restart
// keeps the same kid.
type LoadSigningKeys struct {
	store     KeyStore
	generator KeyGenerator
	ring      *KeyRing
	clock     Clock
	algorithm domain.Algorithm
}

// NewLoadSigningKeys builds the use case; algorithm is used for a new key.
func NewLoadSigningKeys(store KeyStore, generator KeyGenerator, ring *KeyRing, clock Clock, algorithm domain.Algorithm) *LoadSigningKeys {
	return &LoadSigningKeys{store: store, generator: generator, ring: ring, clock: clock, algorithm: algorithm}
}

// Handle loads the keys. When the active key's algorithm is not the
// configured one, a key of the configured algorithm takes over and the old
// key is retired: still published, so tokens it signed keep verifying.
func (l *LoadSigningKeys) Handle(ctx context.Context) error {
	keys, err := l.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	for i, k := range keys {
		if k.State != domain.KeyActive {
			continue
		}
		if k.Algorithm == l.algorithm {
			l.ring.Set(keys)
			return nil
		}
		k.State = domain.KeyRetired
		if err := l.store.SaveSigningKey(ctx, k); err != nil {
			return fmt.Errorf("retire signing key: %w", err)
		}
		keys[i] = k
	}
	k, err := l.generator.GenerateSigningKey(l.algorithm)
	if err != nil {
		return fmt.Errorf("generate signing key: %w", err)
	}
	k.State = domain.KeyActive
	k.CreatedAt = l.clock.Now()
	if err := l.store.SaveSigningKey(ctx, k); err != nil {
		return fmt.Errorf("save signing key: %w", err)
	}
	l.ring.Set(append(keys, k))
	return nil
}
