package application

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// demoRotationPace is the least time between two playground rotations:
// each makes an RSA key, and the page is open to anyone who reaches it.
const demoRotationPace = 5 * time.Second

// maxDemoRetired bounds the retired keys a playground rotation leaves in
// the key set: retired keys stay published for key-retire-period, so
// without a bound anyone who reaches the page could grow the JWKS every
// resource server fetches by a key every few seconds. Past it the
// rotation is refused until the schedule removes retired keys.
const maxDemoRetired = 8

// RotateDemoKeys is the playground's forced key rotation: a new key is
// published and signs at once, the one that signed is retired (still
// published, so the tokens it signed stay good). Unlike RotateSigningKeys
// it skips the publish lead on purpose, so the page can show a resource
// server meeting a kid it has not fetched yet and fetching the JWKS once.
// It is only built when the playground is on, and paced.
type RotateDemoKeys struct {
	keys  *RotateSigningKeys
	clock Clock

	mu   sync.Mutex
	last time.Time
}

// NewRotateDemoKeys builds the use case over the key schedule's.
func NewRotateDemoKeys(keys *RotateSigningKeys, clock Clock) *RotateDemoKeys {
	return &RotateDemoKeys{keys: keys, clock: clock}
}

// Handle rotates and returns the kid of the key that signs now.
func (h *RotateDemoKeys) Handle(ctx context.Context) (string, error) {
	h.mu.Lock()
	now := h.clock.Now()
	if !h.last.IsZero() && now.Sub(h.last) < demoRotationPace {
		h.mu.Unlock()
		return "", fmt.Errorf("one playground rotation per %s: %w", demoRotationPace, domain.ErrTemporarilyUnavailable)
	}
	h.last = now
	h.mu.Unlock()
	return h.keys.rotateNow(ctx, maxDemoRetired)
}

// rotateNow makes a new key active at once and retires the active ones,
// under the key lock, then reloads the ring. It refuses when the key set
// already holds maxRetired retired keys.
func (h *RotateSigningKeys) rotateNow(ctx context.Context, maxRetired int) (string, error) {
	var kid string
	ran, err := h.locker.TryLocked(ctx, signingKeysLock, func(ctx context.Context) error {
		keys, err := h.store.ListSigningKeys(ctx)
		if err != nil {
			return fmt.Errorf("list signing keys: %w", err)
		}
		retired := 0
		for _, k := range keys {
			if k.State == domain.KeyRetired {
				retired++
			}
		}
		if retired >= maxRetired {
			return fmt.Errorf("the key set already holds %d retired keys, which leave after key-retire-period: %w", retired, domain.ErrTemporarilyUnavailable)
		}
		k, err := h.generator.GenerateSigningKey(h.policy.Algorithm)
		if err != nil {
			return fmt.Errorf("generate signing key: %w", err)
		}
		now := h.clock.Now()
		k.State, k.CreatedAt, k.ActivatedAt = domain.KeyActive, now, now
		// Activate before retiring, as step does: never no active key.
		if err := h.store.SaveSigningKey(ctx, k); err != nil {
			return fmt.Errorf("save signing key: %w", err)
		}
		h.auditKey(ctx, AuditKeyPublished, k.ID)
		h.auditKey(ctx, AuditKeyActivated, k.ID)
		for _, old := range keys {
			if old.State != domain.KeyActive {
				continue
			}
			old.State, old.RetiredAt = domain.KeyRetired, now
			if err := h.store.SaveSigningKey(ctx, old); err != nil {
				return fmt.Errorf("retire key %s: %w", old.ID, err)
			}
			h.auditKey(ctx, AuditKeyRetired, old.ID)
		}
		kid = k.ID
		return nil
	})
	if err != nil {
		return "", err
	}
	if !ran {
		return "", fmt.Errorf("another node holds the key lock: %w", domain.ErrTemporarilyUnavailable)
	}
	if err := h.reload(ctx, nil); err != nil {
		return "", err
	}
	return kid, nil
}
