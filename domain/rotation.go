package domain

import "time"

// RotationPolicy is the schedule of staged key rotation. A new key is
// published (in the JWKS, not signing) for PublishLead before it signs, so
// every resource server has fetched it by then; it signs for
// SigningPeriod; then it is retired, still published, for RetireFor, so
// every token it signed can still be verified; then it is removed.
type RotationPolicy struct {
	Algorithm Algorithm
	// PublishLead must be at least the resource servers' JWKS cache
	// lifetime.
	PublishLead time.Duration
	// SigningPeriod is how long a key signs; zero turns automatic rotation
	// off (a forced rotation still works).
	SigningPeriod time.Duration
	// RetireFor must be at least the longest access token lifetime.
	RetireFor time.Duration
}

// RotationPlan is what one rotation step does. Every field may be empty.
type RotationPlan struct {
	// Publish asks for a new key of the policy's algorithm, published
	// (or, when there is no key at all, active at once: nothing can have
	// cached a key set yet).
	Publish bool
	// ActivateNow makes the new key active at once; only on a first start.
	ActivateNow bool
	// Activate is the kid of the published key that starts signing, and
	// Retire the kid of the active key it replaces.
	Activate string
	Retire   string
	// Remove lists retired keys whose tokens have all expired.
	Remove []string
}

// Empty reports whether the plan changes nothing.
func (p RotationPlan) Empty() bool {
	return !p.Publish && p.Activate == "" && p.Retire == "" && len(p.Remove) == 0
}

// PlanRotation decides the next step of staged rotation for keys at now.
// It depends only on the keys' states and dates, so running it twice, or
// on two nodes one after the other, does a transition once. force starts a
// rotation now, whatever the signing period says; it is staged all the
// same: the new key signs only after PublishLead.
func PlanRotation(keys []SigningKey, now time.Time, p RotationPolicy, force bool) RotationPlan {
	var plan RotationPlan
	var active, next, extra *SigningKey
	for i := range keys {
		k := &keys[i]
		switch k.State {
		case KeyActive:
			if active == nil || k.activeSince().After(active.activeSince()) {
				active, extra = k, active
			} else {
				extra = k
			}
		case KeyPublished:
			if next == nil || k.CreatedAt.After(next.CreatedAt) {
				next = k
			}
		case KeyRetired:
			if !now.Before(k.RetiredAt.Add(p.RetireFor)) {
				plan.Remove = append(plan.Remove, k.ID)
			}
		}
	}
	switch {
	case extra != nil:
		// A step activated a key but failed to retire the one before.
		plan.Retire = extra.ID
	case active == nil && next == nil:
		plan.Publish, plan.ActivateNow = true, true
	case next != nil:
		if !now.Before(next.CreatedAt.Add(p.PublishLead)) {
			plan.Activate = next.ID
			if active != nil {
				plan.Retire = active.ID
			}
		}
	case force,
		active.Algorithm != p.Algorithm,
		p.SigningPeriod > 0 && !now.Before(active.activeSince().Add(p.SigningPeriod-p.PublishLead)):
		plan.Publish = true
	}
	return plan
}

// activeSince is when the key started signing; keys stored before
// ActivatedAt existed count from their creation.
func (k SigningKey) activeSince() time.Time {
	if k.ActivatedAt.IsZero() {
		return k.CreatedAt
	}
	return k.ActivatedAt
}

// RevocationPlan is what revoking a key does: the key leaves the store
// and the JWKS at once, and if it was the key that signs, another takes
// over at once.
type RevocationPlan struct {
	// Remove is the revoked key.
	Remove string
	// Activate is a published key that starts signing now, skipping what
	// is left of its publish lead: resource servers that have not fetched
	// it yet fetch it on the first token naming it.
	Activate string
	// Publish asks for a new key, active at once, when no published key
	// can take over.
	Publish bool
}

// PlanRevocation decides how to revoke the key kid, an emergency that
// skips the staged schedule: a key that may have leaked must stop being
// trusted now, not after its retire period. It returns ErrNotFound for a
// kid the store does not hold. When the revoked key is the only active
// one, the newest published key takes over, or a new one if there is
// none, so the server never stops issuing tokens.
func PlanRevocation(keys []SigningKey, kid string) (RevocationPlan, error) {
	var (
		target          *SigningKey
		otherActive     bool
		newestPublished *SigningKey
	)
	for i := range keys {
		k := &keys[i]
		switch {
		case k.ID == kid:
			target = k
		case k.State == KeyActive:
			otherActive = true
		case k.State == KeyPublished:
			if newestPublished == nil || k.CreatedAt.After(newestPublished.CreatedAt) {
				newestPublished = k
			}
		}
	}
	if target == nil {
		return RevocationPlan{}, ErrNotFound
	}
	plan := RevocationPlan{Remove: kid}
	if target.State != KeyActive || otherActive {
		return plan, nil
	}
	if newestPublished != nil {
		plan.Activate = newestPublished.ID
	} else {
		plan.Publish = true
	}
	return plan, nil
}

// NextRotation is when the staged rotation of keys next changes
// something on its own, by PlanRotation's rules: a published key starts
// signing PublishLead after it was made; otherwise the next key is
// published PublishLead before the active one's SigningPeriod ends. It is
// zero when nothing is due by schedule (a SigningPeriod of 0 rotates on
// demand only, and no key at all waits for the first start).
func NextRotation(keys []SigningKey, p RotationPolicy) time.Time {
	var active, next *SigningKey
	for i := range keys {
		k := &keys[i]
		switch k.State {
		case KeyActive:
			if active == nil || k.activeSince().After(active.activeSince()) {
				active = k
			}
		case KeyPublished:
			if next == nil || k.CreatedAt.After(next.CreatedAt) {
				next = k
			}
		}
	}
	switch {
	case next != nil:
		return next.CreatedAt.Add(p.PublishLead)
	case active != nil && p.SigningPeriod > 0:
		return active.activeSince().Add(p.SigningPeriod - p.PublishLead)
	}
	return time.Time{}
}
