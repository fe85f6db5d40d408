package application

import (
	"context"
	"fmt"
	"slices"

	"github.com/sigilauth/sigil/domain"
)

// signingKeysLock is the lock every auth node takes to change keys.
const signingKeysLock = "signing-keys"

// RotateSigningKeys runs staged key rotation (domain.PlanRotation) and
// keeps the key ring in step with the key store. Every auth node calls it
// at start and on a schedule; the store-wide lock makes each transition
// happen on one node only, and every node then reloads what that node
// wrote. On a first start it creates the first active key, under the same
// lock, so two nodes starting together create one.
type RotateSigningKeys struct {
	store     KeyStore
	generator KeyGenerator
	ring      *KeyRing
	locker    Locker
	events    EventPublisher
	clock     Clock
	policy    domain.RotationPolicy
	audit     Auditor
}

// AuditTo records every change of a key's stage on a (AuditKeyPublished
// and the others).
func (h *RotateSigningKeys) AuditTo(a Auditor) { h.audit = a }

// auditKey records that the key kid entered the stage of kind.
func (h *RotateSigningKeys) auditKey(ctx context.Context, kind AuditKind, kid string) {
	audit(ctx, h.audit, AuditEvent{Kind: kind, KID: kid})
}

// NewRotateSigningKeys builds the use case.
func NewRotateSigningKeys(store KeyStore, generator KeyGenerator, ring *KeyRing, locker Locker, events EventPublisher, clock Clock, policy domain.RotationPolicy) *RotateSigningKeys {
	return &RotateSigningKeys{store: store, generator: generator, ring: ring, locker: locker, events: events, clock: clock, policy: policy}
}

// RotateInput asks for a rotation step; Force starts a rotation now.
type RotateInput struct {
	Force bool
}

// RotateResult says what this call changed. Done is false when another
// node held the lock; the ring is reloaded either way.
type RotateResult struct {
	Done bool
	Plan domain.RotationPlan
	// Published is the kid of a key this call created.
	Published string
}

// Handle runs one rotation step and reloads the ring.
func (h *RotateSigningKeys) Handle(ctx context.Context, in RotateInput) (RotateResult, error) {
	var res RotateResult
	ran, err := h.locker.TryLocked(ctx, signingKeysLock, func(ctx context.Context) error {
		var err error
		res, err = h.step(ctx, in.Force)
		return err
	})
	if err != nil {
		return RotateResult{}, err
	}
	res.Done = ran
	if err := h.reload(ctx, res.Plan.Remove); err != nil {
		return RotateResult{}, err
	}
	if ran && !h.hasActive() {
		return RotateResult{}, fmt.Errorf("no active signing key after rotation")
	}
	return res, nil
}

// Reload reads the keys from the store into the ring.
func (h *RotateSigningKeys) Reload(ctx context.Context) error {
	return h.reload(ctx, nil)
}

// reload reads the keys into the ring and announces every key the ring
// held that the store no longer does, other than those in announced: a
// key another node or `sigil keys revoke` removed. Without Redis this is
// how the node's own resource role hears of a removal made by a command;
// with Redis it repeats the remover's message, which is harmless, and
// makes up for one that was lost.
func (h *RotateSigningKeys) reload(ctx context.Context, announced []string) error {
	keys, err := h.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	before := h.ring.Published()
	h.ring.Set(keys)
	for _, k := range before {
		if !slices.Contains(announced, k.ID) && !h.ring.TrustsKey(k.ID) {
			_ = h.announceRemoval(ctx, k.ID)
		}
	}
	return nil
}

// announceRemoval tells every node that kid is gone, so resource servers
// refuse what it signed at once instead of at their next JWKS refresh. A
// lost message only delays that: each auth node repeats it when its own
// reload notices the key gone, and the JWKS no longer lists the key.
func (h *RotateSigningKeys) announceRemoval(ctx context.Context, kid string) error {
	return h.events.Publish(ctx, domain.Event{Kind: domain.EventKeyRemoved, KID: kid})
}

func (h *RotateSigningKeys) hasActive() bool {
	_, ok := h.ring.Active()
	return ok
}

func (h *RotateSigningKeys) step(ctx context.Context, force bool) (RotateResult, error) {
	keys, err := h.store.ListSigningKeys(ctx)
	if err != nil {
		return RotateResult{}, fmt.Errorf("list signing keys: %w", err)
	}
	now := h.clock.Now()
	// A key retired before retirement dates were kept starts its
	// retirement now, rather than being removed at once.
	for i, k := range keys {
		if k.State == domain.KeyRetired && k.RetiredAt.IsZero() {
			k.RetiredAt = now
			if err := h.store.SaveSigningKey(ctx, k); err != nil {
				return RotateResult{}, fmt.Errorf("date retired key %s: %w", k.ID, err)
			}
			keys[i] = k
		}
	}
	plan := domain.PlanRotation(keys, now, h.policy, force)
	res := RotateResult{Plan: plan}
	byID := make(map[string]domain.SigningKey, len(keys))
	for _, k := range keys {
		byID[k.ID] = k
	}
	// Activate before retiring: a node reloading between the two writes
	// sees two active keys (and signs with either, both published), never
	// none. If the second write fails, the next step retires the extra one.
	if plan.Activate != "" {
		k := byID[plan.Activate]
		k.State, k.ActivatedAt = domain.KeyActive, now
		if err := h.store.SaveSigningKey(ctx, k); err != nil {
			return RotateResult{}, fmt.Errorf("activate key %s: %w", k.ID, err)
		}
		h.auditKey(ctx, AuditKeyActivated, k.ID)
	}
	if plan.Retire != "" {
		k := byID[plan.Retire]
		k.State, k.RetiredAt = domain.KeyRetired, now
		if err := h.store.SaveSigningKey(ctx, k); err != nil {
			return RotateResult{}, fmt.Errorf("retire key %s: %w", k.ID, err)
		}
		h.auditKey(ctx, AuditKeyRetired, k.ID)
	}
	if plan.Publish {
		k, err := h.generator.GenerateSigningKey(h.policy.Algorithm)
		if err != nil {
			return RotateResult{}, fmt.Errorf("generate signing key: %w", err)
		}
		k.State, k.CreatedAt = domain.KeyPublished, now
		if plan.ActivateNow {
			k.State, k.ActivatedAt = domain.KeyActive, now
		}
		if err := h.store.SaveSigningKey(ctx, k); err != nil {
			return RotateResult{}, fmt.Errorf("save signing key: %w", err)
		}
		res.Published = k.ID
		h.auditKey(ctx, AuditKeyPublished, k.ID)
		if plan.ActivateNow {
			h.auditKey(ctx, AuditKeyActivated, k.ID)
		}
	}
	for _, kid := range plan.Remove {
		if err := h.store.DeleteSigningKey(ctx, kid); err != nil {
			return RotateResult{}, fmt.Errorf("remove key %s: %w", kid, err)
		}
		h.auditKey(ctx, AuditKeyRemoved, kid)
		_ = h.announceRemoval(ctx, kid)
	}
	return res, nil
}

// RevokeResult says what revoking a key changed. Done is false when
// another node held the key lock and nothing was changed.
type RevokeResult struct {
	Done bool
	Plan domain.RevocationPlan
	// Published is the kid of a key created to take over signing.
	Published string
	// AnnounceErr is why the running nodes could not be told (the feed
	// is down); they learn at their next key check instead.
	AnnounceErr error
}

// Revoke removes the key kid at once, outside the staged schedule, and
// tells every node: resource servers refuse every token it signed from
// the moment they hear, cached or not, and introspection answers them
// inactive. If it was the key that signs, another takes over first (see
// domain.PlanRevocation). An unknown kid gives domain.ErrNotFound.
func (h *RotateSigningKeys) Revoke(ctx context.Context, kid string) (RevokeResult, error) {
	var res RevokeResult
	ran, err := h.locker.TryLocked(ctx, signingKeysLock, func(ctx context.Context) error {
		keys, err := h.store.ListSigningKeys(ctx)
		if err != nil {
			return fmt.Errorf("list signing keys: %w", err)
		}
		plan, err := domain.PlanRevocation(keys, kid)
		if err != nil {
			return err
		}
		res.Plan = plan
		now := h.clock.Now()
		// The successor signs before the revoked key goes, so there is
		// no moment without an active key.
		if plan.Activate != "" {
			for _, k := range keys {
				if k.ID == plan.Activate {
					k.State, k.ActivatedAt = domain.KeyActive, now
					if err := h.store.SaveSigningKey(ctx, k); err != nil {
						return fmt.Errorf("activate key %s: %w", k.ID, err)
					}
					h.auditKey(ctx, AuditKeyActivated, k.ID)
				}
			}
		}
		if plan.Publish {
			k, err := h.generator.GenerateSigningKey(h.policy.Algorithm)
			if err != nil {
				return fmt.Errorf("generate signing key: %w", err)
			}
			k.State, k.CreatedAt, k.ActivatedAt = domain.KeyActive, now, now
			if err := h.store.SaveSigningKey(ctx, k); err != nil {
				return fmt.Errorf("save signing key: %w", err)
			}
			res.Published = k.ID
			h.auditKey(ctx, AuditKeyPublished, k.ID)
			h.auditKey(ctx, AuditKeyActivated, k.ID)
		}
		if err := h.store.DeleteSigningKey(ctx, kid); err != nil {
			return fmt.Errorf("remove key %s: %w", kid, err)
		}
		h.auditKey(ctx, AuditKeyRemoved, kid)
		h.ring.Remove(kid)
		res.AnnounceErr = h.announceRemoval(ctx, kid)
		return nil
	})
	if err != nil {
		return RevokeResult{}, err
	}
	res.Done = ran
	if err := h.reload(ctx, []string{kid}); err != nil {
		return RevokeResult{}, err
	}
	return res, nil
}
