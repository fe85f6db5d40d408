package domain_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// rotT0 is when the keys of the rotation tables were made.
var rotT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// policy signs with each key for 30 days, publishes the next one an hour
// ahead and keeps a retired key a day.
var policy = domain.RotationPolicy{
	Algorithm:     domain.RS256,
	PublishLead:   time.Hour,
	SigningPeriod: 30 * 24 * time.Hour,
	RetireFor:     24 * time.Hour,
}

// activeKey started signing when it was made, at rotT0+at.
func activeKey(id string, at time.Duration) domain.SigningKey {
	return domain.SigningKey{ID: id, Algorithm: domain.RS256, State: domain.KeyActive, CreatedAt: rotT0.Add(at), ActivatedAt: rotT0.Add(at)}
}

// publishedKey was made, and published, at rotT0+at.
func publishedKey(id string, at time.Duration) domain.SigningKey {
	return domain.SigningKey{ID: id, Algorithm: domain.RS256, State: domain.KeyPublished, CreatedAt: rotT0.Add(at)}
}

// retiredKey stopped signing at rotT0+at, having signed for a day.
func retiredKey(id string, at time.Duration) domain.SigningKey {
	return domain.SigningKey{
		ID: id, Algorithm: domain.RS256, State: domain.KeyRetired,
		CreatedAt: rotT0.Add(at - 24*time.Hour), ActivatedAt: rotT0.Add(at - 24*time.Hour), RetiredAt: rotT0.Add(at),
	}
}

func TestPlanRotation(t *testing.T) {
	const day = 24 * time.Hour
	// due is when a fresh active key's successor must be published.
	due := policy.SigningPeriod - policy.PublishLead
	withPolicy := func(f func(*domain.RotationPolicy)) domain.RotationPolicy {
		p := policy
		f(&p)
		return p
	}
	tests := []struct {
		name   string
		keys   []domain.SigningKey
		now    time.Duration // after rotT0
		policy domain.RotationPolicy
		force  bool
		want   domain.RotationPlan
	}{
		{
			name: "empty store: the first key signs at once",
			now:  0,
			want: domain.RotationPlan{Publish: true, ActivateNow: true},
		},
		{
			name:  "empty store, forced: the same",
			now:   0,
			force: true,
			want:  domain.RotationPlan{Publish: true, ActivateNow: true},
		},
		{
			name: "fresh active key",
			keys: []domain.SigningKey{activeKey("a", 0)},
			now:  time.Hour,
		},
		{
			name: "a second before the successor is due",
			keys: []domain.SigningKey{activeKey("a", 0)},
			now:  due - time.Second,
		},
		{
			name: "signing period minus publish lead reached: publish the successor",
			keys: []domain.SigningKey{activeKey("a", 0)},
			now:  due,
			want: domain.RotationPlan{Publish: true},
		},
		{
			name: "long overdue: publish, still staged",
			keys: []domain.SigningKey{activeKey("a", 0)},
			now:  90 * day,
			want: domain.RotationPlan{Publish: true},
		},
		{
			name: "published key younger than the publish lead",
			keys: []domain.SigningKey{activeKey("a", 0), publishedKey("b", due)},
			now:  due + policy.PublishLead - time.Second,
		},
		{
			name:  "published key younger than the publish lead, forced: it still waits",
			keys:  []domain.SigningKey{activeKey("a", 0), publishedKey("b", due)},
			now:   due + time.Minute,
			force: true,
		},
		{
			name: "published key aged the publish lead: it signs, the active key retires",
			keys: []domain.SigningKey{activeKey("a", 0), publishedKey("b", due)},
			now:  due + policy.PublishLead,
			want: domain.RotationPlan{Activate: "b", Retire: "a"},
		},
		{
			name:  "forced with a published key pending: nothing new is published",
			keys:  []domain.SigningKey{activeKey("a", 0), publishedKey("b", 2*day)},
			now:   2*day + policy.PublishLead,
			force: true,
			want:  domain.RotationPlan{Activate: "b", Retire: "a"},
		},
		{
			name: "published key aged the publish lead and no active key: it signs",
			keys: []domain.SigningKey{retiredKey("a", due+time.Hour), publishedKey("b", due)},
			now:  due + time.Hour,
			want: domain.RotationPlan{Activate: "b"},
		},
		{
			name: "retired key exactly RetireFor old: removed",
			keys: []domain.SigningKey{retiredKey("old", 0), activeKey("a", 0)},
			now:  policy.RetireFor,
			want: domain.RotationPlan{Remove: []string{"old"}},
		},
		{
			name: "retired key a second younger than RetireFor: kept",
			keys: []domain.SigningKey{retiredKey("old", 0), activeKey("a", 0)},
			now:  policy.RetireFor - time.Second,
		},
		{
			name: "several retired keys: only the old enough ones are removed",
			keys: []domain.SigningKey{
				retiredKey("r1", 0), retiredKey("r2", day), retiredKey("r3", 2*day), retiredKey("r4", 3*day), activeKey("a", 3*day),
			},
			now:  3*day + policy.RetireFor - time.Second,
			want: domain.RotationPlan{Remove: []string{"r1", "r2", "r3"}},
		},
		{
			name: "activation and removal in one step",
			keys: []domain.SigningKey{retiredKey("old", 0), activeKey("a", 0), publishedKey("b", day)},
			now:  day + policy.PublishLead,
			want: domain.RotationPlan{Activate: "b", Retire: "a", Remove: []string{"old"}},
		},
		{
			name:  "forced with no published key: publish",
			keys:  []domain.SigningKey{activeKey("a", 0)},
			now:   time.Minute,
			force: true,
			want:  domain.RotationPlan{Publish: true},
		},
		{
			name:   "configured algorithm changed: publish a key of the new one, staged",
			keys:   []domain.SigningKey{activeKey("a", 0)},
			now:    time.Minute,
			policy: withPolicy(func(p *domain.RotationPolicy) { p.Algorithm = domain.ES256 }),
			want:   domain.RotationPlan{Publish: true},
		},
		{
			name:   "signing period 0: never rotated automatically",
			keys:   []domain.SigningKey{activeKey("a", 0)},
			now:    10 * 365 * day,
			policy: withPolicy(func(p *domain.RotationPolicy) { p.SigningPeriod = 0 }),
		},
		{
			name:   "signing period 0, forced: publish",
			keys:   []domain.SigningKey{activeKey("a", 0)},
			now:    10 * 365 * day,
			force:  true,
			policy: withPolicy(func(p *domain.RotationPolicy) { p.SigningPeriod = 0 }),
			want:   domain.RotationPlan{Publish: true},
		},
		{
			name:   "signing period 0 still activates and removes",
			keys:   []domain.SigningKey{retiredKey("old", 0), activeKey("a", 0), publishedKey("b", 0)},
			now:    policy.RetireFor,
			policy: withPolicy(func(p *domain.RotationPolicy) { p.SigningPeriod = 0 }),
			want:   domain.RotationPlan{Activate: "b", Retire: "a", Remove: []string{"old"}},
		},
		{
			name: "key stored before ActivatedAt existed counts from CreatedAt: due",
			keys: []domain.SigningKey{{ID: "legacy", Algorithm: domain.RS256, State: domain.KeyActive, CreatedAt: rotT0}},
			now:  due,
			want: domain.RotationPlan{Publish: true},
		},
		{
			name: "key stored before ActivatedAt existed counts from CreatedAt: not yet due",
			keys: []domain.SigningKey{{ID: "legacy", Algorithm: domain.RS256, State: domain.KeyActive, CreatedAt: rotT0}},
			now:  due - time.Second,
		},
		{
			name: "an old key activated lately counts from its activation",
			keys: []domain.SigningKey{{ID: "a", Algorithm: domain.RS256, State: domain.KeyActive, CreatedAt: rotT0, ActivatedAt: rotT0.Add(20 * day)}},
			now:  due + time.Hour,
		},
		{
			name: "only retired keys: a key signs at once, the expired ones go",
			keys: []domain.SigningKey{retiredKey("r1", 0), retiredKey("r2", day)},
			now:  day + time.Hour,
			want: domain.RotationPlan{Publish: true, ActivateNow: true, Remove: []string{"r1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.policy
			if p == (domain.RotationPolicy{}) {
				p = policy
			}
			keys := slices.Clone(tt.keys)
			got := domain.PlanRotation(keys, rotT0.Add(tt.now), p, tt.force)
			if !samePlan(got, tt.want) {
				t.Errorf("PlanRotation = %+v, want %+v", got, tt.want)
			}
			if got.Empty() != samePlan(tt.want, domain.RotationPlan{}) {
				t.Errorf("Empty() = %v for plan %+v", got.Empty(), got)
			}
			if !slices.EqualFunc(keys, tt.keys, sameKey) {
				t.Errorf("PlanRotation changed the keys it was given: %+v", keys)
			}
		})
	}
}

func samePlan(a, b domain.RotationPlan) bool {
	return a.Publish == b.Publish && a.ActivateNow == b.ActivateNow &&
		a.Activate == b.Activate && a.Retire == b.Retire && slices.Equal(a.Remove, b.Remove)
}

func sameKey(a, b domain.SigningKey) bool {
	return a.ID == b.ID && a.State == b.State && a.CreatedAt.Equal(b.CreatedAt) &&
		a.ActivatedAt.Equal(b.ActivatedAt) && a.RetiredAt.Equal(b.RetiredAt)
}

// Stepping through time and applying each plan, as the use case does, a
// key signs for SigningPeriod after PublishLead in the JWKS, and there is
// always exactly one active key.
func TestPlanRotationLifeCycle(t *testing.T) {
	var keys []domain.SigningKey
	var log []string
	n := 0
	for now := rotT0; now.Before(rotT0.Add(100 * 24 * time.Hour)); now = now.Add(30 * time.Minute) {
		plan := domain.PlanRotation(slices.Clone(keys), now, policy, false)
		for i := range keys {
			switch keys[i].ID {
			case plan.Retire:
				keys[i].State, keys[i].RetiredAt = domain.KeyRetired, now
			case plan.Activate:
				keys[i].State, keys[i].ActivatedAt = domain.KeyActive, now
			}
		}
		if plan.Publish {
			n++
			k := domain.SigningKey{ID: string(rune('a' - 1 + n)), Algorithm: policy.Algorithm, State: domain.KeyPublished, CreatedAt: now}
			if plan.ActivateNow {
				k.State, k.ActivatedAt = domain.KeyActive, now
			}
			keys = append(keys, k)
		}
		keys = slices.DeleteFunc(keys, func(k domain.SigningKey) bool { return slices.Contains(plan.Remove, k.ID) })
		if active := countState(keys, domain.KeyActive); active != 1 {
			t.Fatalf("at %v: %d active keys after %+v", now.Sub(rotT0), active, plan)
		}
		if plan.Activate != "" {
			log = append(log, plan.Activate+" signs at "+now.Sub(rotT0).String())
		}
	}
	want := []string{"b signs at 720h0m0s", "c signs at 1440h0m0s", "d signs at 2160h0m0s"}
	if !slices.Equal(log, want) {
		t.Errorf("activations %q, want %q", log, want)
	}
	// At day 100 (2400h): c retired at 2160h was removed a day later; d signs.
	if len(keys) != 1 || keys[0].ID != "d" {
		t.Errorf("keys at the end: %+v, want only d", keys)
	}
}

func countState(keys []domain.SigningKey, s domain.KeyState) int {
	n := 0
	for _, k := range keys {
		if k.State == s {
			n++
		}
	}
	return n
}

func TestRotationPlanEmpty(t *testing.T) {
	tests := []struct {
		name string
		plan domain.RotationPlan
		want bool
	}{
		{"zero plan", domain.RotationPlan{}, true},
		{"empty remove list", domain.RotationPlan{Remove: []string{}}, true},
		{"publish", domain.RotationPlan{Publish: true}, false},
		{"publish and activate now", domain.RotationPlan{Publish: true, ActivateNow: true}, false},
		{"activate", domain.RotationPlan{Activate: "b"}, false},
		{"retire", domain.RotationPlan{Retire: "a"}, false},
		{"remove", domain.RotationPlan{Remove: []string{"old"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.plan.Empty(); got != tt.want {
				t.Errorf("%+v.Empty() = %v, want %v", tt.plan, got, tt.want)
			}
		})
	}
}

func TestPlanRevocation(t *testing.T) {
	for _, c := range []struct {
		name string
		keys []domain.SigningKey
		kid  string
		want domain.RevocationPlan
	}{
		{"a retired key goes alone", []domain.SigningKey{retiredKey("old", 0), activeKey("cur", 0)}, "old",
			domain.RevocationPlan{Remove: "old"}},
		{"a published key goes alone", []domain.SigningKey{activeKey("cur", 0), publishedKey("next", time.Hour)}, "next",
			domain.RevocationPlan{Remove: "next"}},
		{"the active key hands over to the newest published one", []domain.SigningKey{
			activeKey("cur", 0), publishedKey("a", time.Hour), publishedKey("b", 2*time.Hour)}, "cur",
			domain.RevocationPlan{Remove: "cur", Activate: "b"}},
		{"the only key is replaced by a new one", []domain.SigningKey{activeKey("cur", 0), retiredKey("old", 0)}, "cur",
			domain.RevocationPlan{Remove: "cur", Publish: true}},
		{"one of two active keys needs no successor", []domain.SigningKey{activeKey("a", 0), activeKey("b", time.Hour)}, "a",
			domain.RevocationPlan{Remove: "a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := domain.PlanRevocation(c.keys, c.kid)
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
	if _, err := domain.PlanRevocation([]domain.SigningKey{activeKey("cur", 0)}, "nope"); err != domain.ErrNotFound {
		t.Fatalf("unknown kid: %v, want ErrNotFound", err)
	}
}

func TestNextRotation(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	p := domain.RotationPolicy{Algorithm: domain.RS256, PublishLead: 10 * time.Minute, SigningPeriod: 720 * time.Hour, RetireFor: 24 * time.Hour}
	active := domain.SigningKey{ID: "a", State: domain.KeyActive, CreatedAt: t0.Add(-time.Hour), ActivatedAt: t0}
	published := domain.SigningKey{ID: "p", State: domain.KeyPublished, CreatedAt: t0.Add(5 * time.Hour)}
	retired := domain.SigningKey{ID: "r", State: domain.KeyRetired, CreatedAt: t0.Add(-800 * time.Hour), RetiredAt: t0}
	onDemand := p
	onDemand.SigningPeriod = 0
	for _, tc := range []struct {
		name string
		keys []domain.SigningKey
		p    domain.RotationPolicy
		want time.Time
	}{
		{"the active key's period ends: the next is published a lead before", []domain.SigningKey{active, retired}, p, t0.Add(720*time.Hour - 10*time.Minute)},
		{"a published key signs a lead after it was made", []domain.SigningKey{active, published}, p, t0.Add(5*time.Hour + 10*time.Minute)},
		{"rotation on demand only", []domain.SigningKey{active}, onDemand, time.Time{}},
		{"a published key under rotation on demand still activates", []domain.SigningKey{active, published}, onDemand, t0.Add(5*time.Hour + 10*time.Minute)},
		{"no key yet", nil, p, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.NextRotation(tc.keys, tc.p); !got.Equal(tc.want) {
				t.Errorf("NextRotation = %v, want %v", got, tc.want)
			}
			// It agrees with PlanRotation: nothing is due just before, a
			// step is due at that moment.
			if !tc.want.IsZero() {
				if plan := domain.PlanRotation(tc.keys, tc.want.Add(-time.Second), tc.p, false); !plan.Empty() && len(plan.Remove) == 0 {
					t.Errorf("PlanRotation a second before = %+v, want nothing", plan)
				}
				if plan := domain.PlanRotation(tc.keys, tc.want, tc.p, false); plan.Empty() {
					t.Errorf("PlanRotation at NextRotation = %+v, want a step", plan)
				}
			}
		})
	}
}
