package application_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// rotation signs with a key for a day, publishes the next an hour ahead
// and keeps a retired key four hours: longer than tokenLife.
var rotation = domain.RotationPolicy{
	Algorithm:     domain.RS256,
	PublishLead:   time.Hour,
	SigningPeriod: 24 * time.Hour,
	RetireFor:     4 * time.Hour,
}

// tokenLife is the lifetime of the tokens the rotation tests sign.
const tokenLife = 3 * time.Hour

// keyCluster is the storage every auth node shares: one key store, one
// lock table, one feed, one clock. The nodes share one generator too, so
// that kids stay unique and a test can count the keys made.
type keyCluster struct {
	clock  *fakes.Clock
	store  *fakes.Keys
	gen    *fakes.KeyGenerator
	locker *namedLocker
	events *fakes.Events
}

func newKeyCluster() *keyCluster {
	return &keyCluster{
		clock:  fakes.NewClock(t0),
		store:  &fakes.Keys{},
		gen:    &fakes.KeyGenerator{},
		locker: &namedLocker{Locker: &fakes.Locker{}},
		events: &fakes.Events{},
	}
}

// authNode is one auth node: its own key ring, kept by its own use case.
type authNode struct {
	ring   *application.KeyRing
	rotate *application.RotateSigningKeys
}

// node starts an auth node over the cluster's shared storage.
func (c *keyCluster) node(p domain.RotationPolicy) *authNode {
	return c.nodeOver(c.store, p)
}

// nodeOver is node with its own view of the key store.
func (c *keyCluster) nodeOver(store application.KeyStore, p domain.RotationPolicy) *authNode {
	ring := &application.KeyRing{}
	return &authNode{ring: ring, rotate: application.NewRotateSigningKeys(store, c.gen, ring, c.locker, c.events, c.clock, p)}
}

// step runs one rotation step that must succeed.
func (n *authNode) step(t *testing.T, force bool) application.RotateResult {
	t.Helper()
	res, err := n.rotate.Handle(t.Context(), application.RotateInput{Force: force})
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	return res
}

// active is the kid the node signs with, "" for none.
func (n *authNode) active() string {
	k, ok := n.ring.Active()
	if !ok {
		return ""
	}
	return k.ID
}

// verifier checks tokens against the node's ring.
func (n *authNode) verifier(c *keyCluster) fakes.Verifier {
	return fakes.Verifier{Keys: n.ring, Clock: c.clock}
}

func kidsOf(keys []domain.SigningKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.ID
	}
	return out
}

// stored returns the store's keys by kid.
func (c *keyCluster) stored(t *testing.T) map[string]domain.SigningKey {
	t.Helper()
	keys, err := c.store.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]domain.SigningKey{}
	for _, k := range keys {
		m[k.ID] = k
	}
	return m
}

// wantOneActive fails unless the store holds exactly one active key and
// the node signs with it.
func (c *keyCluster) wantOneActive(t *testing.T, n *authNode, when string) {
	t.Helper()
	var active []string
	for id, k := range c.stored(t) {
		if k.State == domain.KeyActive {
			active = append(active, id)
		}
	}
	if len(active) != 1 {
		t.Fatalf("%s: active keys in the store %v, want exactly one", when, active)
	}
	if got := n.active(); got != active[0] {
		t.Fatalf("%s: the node signs with %q, the store's active key is %s", when, got, active[0])
	}
}

// generated reports how many keys the cluster's generator has made, by
// drawing one more: the fake numbers its kids kid-1, kid-2, ...
func (c *keyCluster) generated(t *testing.T) int {
	t.Helper()
	k, err := c.gen.GenerateSigningKey(domain.RS256)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := fmt.Sscanf(k.ID, "kid-%d", &n); err != nil {
		t.Fatal(err)
	}
	return n - 1
}

// removedKeys is the kids the feed announced as removed.
func (c *keyCluster) removedKeys() []string {
	var out []string
	for _, e := range c.events.Published() {
		if e.Kind == domain.EventKeyRemoved {
			out = append(out, e.KID)
		}
	}
	return out
}

// signToken signs a token of tokenLife with the node's active key, as
// IssueToken does.
func (c *keyCluster) signToken(t *testing.T, n *authNode) string {
	t.Helper()
	key, ok := n.ring.Active()
	if !ok {
		t.Fatal("no active key to sign with")
	}
	now := c.clock.Now()
	raw, err := fakes.Signer{}.SignAccessToken(t.Context(), key, domain.Token{
		Format: domain.FormatJWT, ID: fmt.Sprintf("jti-%s-%d", key.ID, now.Unix()), ClientID: jwtClientID,
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(tokenLife),
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// namedLocker is fakes.Locker remembering the names it was asked for, so
// a test can hold the use case's lock without knowing its name.
type namedLocker struct {
	*fakes.Locker
	names []string
}

func (l *namedLocker) TryLocked(ctx context.Context, name string, fn func(context.Context) error) (bool, error) {
	if !slices.Contains(l.names, name) {
		l.names = append(l.names, name)
	}
	return l.Locker.TryLocked(ctx, name, fn)
}

// hold takes, as another node would, the one lock the use case uses.
func (l *namedLocker) hold(t *testing.T) (release func()) {
	t.Helper()
	if len(l.names) != 1 {
		t.Fatalf("the use case took locks %q, want exactly one", l.names)
	}
	return l.Hold(l.names[0])
}

// A first start creates one active key at once; a restart keeps its kid,
// or every resource server's cached JWKS and every issued token break.
func TestRotateSigningKeysFirstStart(t *testing.T) {
	c := newKeyCluster()
	n := c.node(rotation)

	res := n.step(t, false)
	if !res.Done || res.Published != "kid-1" || !res.Plan.Publish || !res.Plan.ActivateNow {
		t.Errorf("first start result %+v, want kid-1 published and active", res)
	}
	c.wantOneActive(t, n, "first start")
	k := c.stored(t)["kid-1"]
	if k.Algorithm != domain.RS256 || !k.CreatedAt.Equal(t0) || !k.ActivatedAt.Equal(t0) || !k.RetiredAt.IsZero() {
		t.Errorf("first key %s %s created %v activated %v retired %v, want RS256 created and activated %v",
			k.ID, k.Algorithm, k.CreatedAt, k.ActivatedAt, k.RetiredAt, t0)
	}
	if pub := kidsOf(n.ring.Published()); !slices.Equal(pub, []string{"kid-1"}) {
		t.Errorf("published keys %v, want only kid-1", pub)
	}

	// A restart: new ring, same store.
	c.clock.Advance(time.Minute)
	again := c.node(rotation)
	res = again.step(t, false)
	if !res.Done || !res.Plan.Empty() || res.Published != "" {
		t.Errorf("restart result %+v, want nothing done", res)
	}
	if again.active() != "kid-1" {
		t.Errorf("after restart the active kid is %q, want kid-1", again.active())
	}
	if got := c.generated(t); got != 1 {
		t.Errorf("%d keys generated, want 1: the restart made a new one", got)
	}
	if len(c.stored(t)) != 1 {
		t.Errorf("store holds %v after restart, want only kid-1", c.stored(t))
	}
}

// A store with an active key and a young retired key is taken as it is.
func TestRotateSigningKeysExistingKeys(t *testing.T) {
	c := newKeyCluster()
	for _, k := range []domain.SigningKey{
		{ID: "old-kid", State: domain.KeyRetired, CreatedAt: t0.Add(-25 * time.Hour), ActivatedAt: t0.Add(-25 * time.Hour), RetiredAt: t0.Add(-time.Hour)},
		{ID: "kept-kid", State: domain.KeyActive, CreatedAt: t0.Add(-2 * time.Hour), ActivatedAt: t0.Add(-time.Hour)},
	} {
		g, err := (&fakes.KeyGenerator{}).GenerateSigningKey(domain.RS256)
		if err != nil {
			t.Fatal(err)
		}
		k.Algorithm, k.Private = domain.RS256, g.Private
		if err := c.store.SaveSigningKey(t.Context(), k); err != nil {
			t.Fatal(err)
		}
	}
	n := c.node(rotation)
	if res := n.step(t, false); !res.Plan.Empty() {
		t.Errorf("plan %+v, want nothing to do", res.Plan)
	}
	if n.active() != "kept-kid" {
		t.Errorf("active kid %q, want kept-kid", n.active())
	}
	if pub := kidsOf(n.ring.Published()); !slices.Equal(pub, []string{"old-kid", "kept-kid"}) {
		t.Errorf("published %v, want the retired and the active key", pub)
	}
	if got := c.generated(t); got != 0 {
		t.Errorf("%d keys generated though the store had an active one", got)
	}
}

// Retired keys alone cannot sign: a new key signs at once (nothing can
// have cached a key set without an active key), and the retired keys stay
// published for the tokens they signed.
func TestRotateSigningKeysOnlyRetiredKeys(t *testing.T) {
	c := newKeyCluster()
	n := c.node(rotation)
	n.step(t, false)
	old := c.signToken(t, n)
	k := c.stored(t)["kid-1"]
	k.State, k.RetiredAt = domain.KeyRetired, c.clock.Now()
	if err := c.store.SaveSigningKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}

	c.clock.Advance(time.Minute)
	n = c.node(rotation)
	if res := n.step(t, false); res.Published != "kid-2" {
		t.Errorf("result %+v, want kid-2 made", res)
	}
	c.wantOneActive(t, n, "after a start with only retired keys")
	if n.active() != "kid-2" {
		t.Errorf("active kid %q, want the new kid-2", n.active())
	}
	if _, err := n.verifier(c).VerifyAccessToken(t.Context(), old); err != nil {
		t.Errorf("a token of the retired key no longer verifies: %v", err)
	}
	if len(c.stored(t)) != 2 {
		t.Errorf("store holds %s, want the retired and the new key", statesOf(c.stored(t)))
	}
}

// A change of the configured algorithm is a staged rotation too: a key of
// the new algorithm is published, signs after PublishLead, and the old
// key, retired, still verifies what it signed.
func TestRotateSigningKeysAlgorithmChange(t *testing.T) {
	c := newKeyCluster()
	before := c.node(rotation)
	before.step(t, false)
	old := c.signToken(t, before) // a token signed before the restart
	es := rotation
	es.Algorithm = domain.ES256

	c.clock.Advance(time.Hour)
	n := c.node(es)
	if res := n.step(t, false); res.Published != "kid-2" {
		t.Fatalf("result %+v, want an ES256 key published", res)
	}
	if k := c.stored(t)["kid-2"]; k.Algorithm != domain.ES256 || k.State != domain.KeyPublished {
		t.Errorf("new key %s %s, want a published ES256 key", k.Algorithm, k.State)
	}
	if n.active() != "kid-1" {
		t.Errorf("the new key signs before PublishLead: active %q", n.active())
	}

	c.clock.Advance(rotation.PublishLead)
	n.step(t, false)
	c.wantOneActive(t, n, "after PublishLead")
	if k, _ := n.ring.Active(); k.ID != "kid-2" || k.Algorithm != domain.ES256 {
		t.Errorf("active key %s %s, want kid-2 ES256", k.ID, k.Algorithm)
	}
	if _, alg, err := n.ring.VerificationKey(t.Context(), "kid-1"); err != nil || alg != domain.RS256 {
		t.Errorf("the retired RS256 key: alg %q, %v", alg, err)
	}
	if _, err := n.verifier(c).VerifyAccessToken(t.Context(), old); err != nil {
		t.Errorf("a token of the retired key no longer verifies: %v", err)
	}
	if got := c.generated(t); got != 2 {
		t.Errorf("%d keys generated, want 2", got)
	}
}

// One key's whole life, step by step: published, signing, retired, gone.
func TestRotateSigningKeysLifeCycle(t *testing.T) {
	c := newKeyCluster()
	n := c.node(rotation)
	audits := &fakes.Auditor{}
	n.rotate.AuditTo(audits)
	var oldToken string // signed by kid-1 just before its successor signs
	steps := []struct {
		at        time.Duration // after t0
		force     bool
		plan      domain.RotationPlan
		published []string // the ring's published kids
		active    string
		check     func(t *testing.T)
	}{
		{at: 0, plan: domain.RotationPlan{Publish: true, ActivateNow: true}, published: []string{"kid-1"}, active: "kid-1"},
		{at: time.Hour, published: []string{"kid-1"}, active: "kid-1"},
		{at: 23*time.Hour - time.Second, published: []string{"kid-1"}, active: "kid-1"},
		{at: 23 * time.Hour, plan: domain.RotationPlan{Publish: true}, published: []string{"kid-1", "kid-2"}, active: "kid-1",
			check: func(t *testing.T) {
				if k := c.stored(t)["kid-2"]; k.State != domain.KeyPublished || !k.CreatedAt.Equal(c.clock.Now()) {
					t.Errorf("kid-2 is %s created %v, want published now", k.State, k.CreatedAt)
				}
			}},
		{at: 23*time.Hour + 30*time.Minute, force: true, published: []string{"kid-1", "kid-2"}, active: "kid-1",
			check: func(t *testing.T) { oldToken = c.signToken(t, n) }},
		{at: 24*time.Hour - time.Second, published: []string{"kid-1", "kid-2"}, active: "kid-1"},
		{at: 24 * time.Hour, plan: domain.RotationPlan{Activate: "kid-2", Retire: "kid-1"}, published: []string{"kid-1", "kid-2"}, active: "kid-2",
			check: func(t *testing.T) {
				keys := c.stored(t)
				if k := keys["kid-1"]; k.State != domain.KeyRetired || !k.RetiredAt.Equal(c.clock.Now()) || !k.ActivatedAt.Equal(t0) {
					t.Errorf("kid-1 is %s activated %v retired %v, want retired now", k.State, k.ActivatedAt, k.RetiredAt)
				}
				if k := keys["kid-2"]; !k.ActivatedAt.Equal(c.clock.Now()) || !k.CreatedAt.Equal(t0.Add(23*time.Hour)) {
					t.Errorf("kid-2 created %v activated %v, want activated now", k.CreatedAt, k.ActivatedAt)
				}
			}},
		{at: 26*time.Hour + 29*time.Minute, published: []string{"kid-1", "kid-2"}, active: "kid-2"},
		{at: 28*time.Hour - time.Second, published: []string{"kid-1", "kid-2"}, active: "kid-2"},
		{at: 28 * time.Hour, plan: domain.RotationPlan{Remove: []string{"kid-1"}}, published: []string{"kid-2"}, active: "kid-2"},
		{at: 47 * time.Hour, plan: domain.RotationPlan{Publish: true}, published: []string{"kid-2", "kid-3"}, active: "kid-2"},
		{at: 48 * time.Hour, plan: domain.RotationPlan{Activate: "kid-3", Retire: "kid-2"}, published: []string{"kid-2", "kid-3"}, active: "kid-3"},
		{at: 52 * time.Hour, plan: domain.RotationPlan{Remove: []string{"kid-2"}}, published: []string{"kid-3"}, active: "kid-3"},
	}
	for _, s := range steps {
		c.clock.Advance(t0.Add(s.at).Sub(c.clock.Now()))
		when := fmt.Sprintf("at t0+%v", s.at)
		res := n.step(t, s.force)
		if !res.Done {
			t.Fatalf("%s: not done", when)
		}
		if !samePlan(res.Plan, s.plan) {
			t.Errorf("%s: plan %+v, want %+v", when, res.Plan, s.plan)
		}
		if (res.Published != "") != s.plan.Publish {
			t.Errorf("%s: made key %q with plan %+v", when, res.Published, s.plan)
		}
		c.wantOneActive(t, n, when)
		if n.active() != s.active {
			t.Errorf("%s: active %q, want %s", when, n.active(), s.active)
		}
		if pub := kidsOf(n.ring.Published()); !slices.Equal(pub, s.published) {
			t.Errorf("%s: published %v, want %v", when, pub, s.published)
		}
		if s.check != nil {
			s.check(t)
		}
		// kid-1's last token verifies for its whole life, kid-1 retired.
		if oldToken != "" && s.at < 23*time.Hour+30*time.Minute+tokenLife {
			if _, err := n.verifier(c).VerifyAccessToken(t.Context(), oldToken); err != nil {
				t.Errorf("%s: a token signed by kid-1 no longer verifies: %v", when, err)
			}
		}
	}
	if got := c.removedKeys(); !slices.Equal(got, []string{"kid-1", "kid-2"}) {
		t.Errorf("key_removed events for %v, want kid-1 then kid-2", got)
	}
	if got := c.generated(t); got != 3 {
		t.Errorf("%d keys generated, want 3", got)
	}
	var trail []string
	for _, e := range audits.Events() {
		trail = append(trail, string(e.Kind)+" "+e.KID)
	}
	want := []string{
		"key_published kid-1", "key_activated kid-1",
		"key_published kid-2", "key_activated kid-2", "key_retired kid-1", "key_removed kid-1",
		"key_published kid-3", "key_activated kid-3", "key_retired kid-2", "key_removed kid-2",
	}
	if !slices.Equal(trail, want) {
		t.Errorf("audit trail\n%v\nwant\n%v", trail, want)
	}
}

func samePlan(a, b domain.RotationPlan) bool {
	return a.Publish == b.Publish && a.ActivateNow == b.ActivateNow &&
		a.Activate == b.Activate && a.Retire == b.Retire && slices.Equal(a.Remove, b.Remove)
}

// Run on a schedule for days, rotation never leaves the node without a
// signing key, and every token signed verifies until it expires: on the
// node, and on a resource server whose JWKS cache is PublishLead old.
func TestRotateSigningKeysScheduled(t *testing.T) {
	c := newKeyCluster()
	n := c.node(rotation)
	type signed struct {
		raw string
		exp time.Time
	}
	var tokens []signed
	jwks := &application.KeyRing{} // the resource server's cached key set
	var fetched time.Time
	const tick = 15 * time.Minute
	end := t0.Add(5 * 24 * time.Hour)
	for ; c.clock.Now().Before(end); c.clock.Advance(tick) {
		now := c.clock.Now()
		when := fmt.Sprintf("at t0+%v", now.Sub(t0))
		n.step(t, false)
		c.wantOneActive(t, n, when)
		if fetched.IsZero() || now.Sub(fetched) >= rotation.PublishLead {
			jwks.Set(n.ring.Published())
			fetched = now
		}
		tokens = append(tokens, signed{c.signToken(t, n), now.Add(tokenLife)})
		rs := fakes.Verifier{Keys: jwks, Clock: c.clock}
		live := tokens[:0]
		for _, tok := range tokens {
			if !now.Before(tok.exp) {
				continue
			}
			live = append(live, tok)
			if _, err := n.verifier(c).VerifyAccessToken(t.Context(), tok.raw); err != nil {
				t.Fatalf("%s: a live token no longer verifies on the auth node: %v", when, err)
			}
			if _, err := rs.VerifyAccessToken(t.Context(), tok.raw); err != nil {
				t.Fatalf("%s: a live token does not verify with a JWKS fetched at t0+%v: %v", when, fetched.Sub(t0), err)
			}
		}
		tokens = live
	}
	// Keys made at 0, 23h, 47h, 71h, 95h and 119h; kid-1 to kid-4 removed
	// four hours after they retired at 24h, 48h, 72h and 96h.
	if got := c.generated(t); got != 6 {
		t.Errorf("%d keys generated in five days, want 6", got)
	}
	if got := c.removedKeys(); !slices.Equal(got, []string{"kid-1", "kid-2", "kid-3", "kid-4"}) {
		t.Errorf("removed %v, want kid-1 to kid-4", got)
	}
}

// While another node holds the lock this one changes nothing, yet reloads
// what the other node wrote.
func TestRotateSigningKeysLockHeldElsewhere(t *testing.T) {
	c := newKeyCluster()
	c.node(rotation).step(t, false)
	release := c.locker.hold(t)

	c.clock.Advance(23 * time.Hour) // kid-1's successor is due
	n := c.node(rotation)
	res := n.step(t, false)
	if res.Done || res.Published != "" {
		t.Errorf("result %+v with the lock held elsewhere, want nothing done", res)
	}
	if got := kidsOf(n.ring.Published()); !slices.Equal(got, []string{"kid-1"}) || n.active() != "kid-1" {
		t.Errorf("ring holds %v active %q, want the store's kid-1", got, n.active())
	}
	if got := c.generated(t); got != 1 {
		t.Errorf("%d keys generated, want 1: the lock was ignored", got)
	}
	if keys := c.stored(t); len(keys) != 1 || keys["kid-1"].State != domain.KeyActive {
		t.Errorf("store holds %+v, want kid-1 untouched", keys)
	}

	// The node holding the lock publishes a key; this node sees it.
	g, err := (&fakes.KeyGenerator{}).GenerateSigningKey(domain.RS256)
	if err != nil {
		t.Fatal(err)
	}
	g.ID, g.State, g.CreatedAt = "kid-other", domain.KeyPublished, c.clock.Now()
	if err := c.store.SaveSigningKey(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if res := n.step(t, false); res.Done {
		t.Errorf("result %+v with the lock held elsewhere, want not done", res)
	}
	if got := kidsOf(n.ring.Published()); !slices.Equal(got, []string{"kid-1", "kid-other"}) {
		t.Errorf("ring publishes %v, want the other node's key too", got)
	}

	// The lock is free again: this node takes the next step, on the other
	// node's key.
	release()
	c.clock.Advance(rotation.PublishLead)
	res = n.step(t, false)
	if !res.Done || res.Plan.Activate != "kid-other" || res.Plan.Retire != "kid-1" || res.Published != "" {
		t.Errorf("result %+v, want kid-other activated and nothing made", res)
	}
	c.wantOneActive(t, n, "after the lock was freed")
	if n.active() != "kid-other" {
		t.Errorf("active %q, want kid-other", n.active())
	}
}

// Two nodes over one store and one lock, each running the schedule: every
// transition happens once, and both sign with the same key.
func TestRotateSigningKeysTwoNodes(t *testing.T) {
	c := newKeyCluster()
	a, b := c.node(rotation), c.node(rotation)
	made := map[string]int{}
	activated := map[string]int{}
	end := t0.Add(72 * time.Hour)
	for i := 0; c.clock.Now().Before(end); i++ {
		now := c.clock.Now()
		when := fmt.Sprintf("at t0+%v", now.Sub(t0))
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		for j, n := range []*authNode{first, second} {
			res := n.step(t, false)
			if !res.Done {
				t.Fatalf("%s: not done with the lock free", when)
			}
			if res.Published != "" {
				made[res.Published]++
			}
			if res.Plan.Activate != "" {
				activated[res.Plan.Activate]++
			}
			if j == 1 && !res.Plan.Empty() {
				t.Errorf("%s: the second node also acted: %+v", when, res.Plan)
			}
		}
		c.wantOneActive(t, a, when)
		c.wantOneActive(t, b, when)
		if pa, pb := kidsOf(a.ring.Published()), kidsOf(b.ring.Published()); !slices.Equal(pa, pb) {
			t.Fatalf("%s: the nodes publish %v and %v", when, pa, pb)
		}
		c.clock.Advance(30 * time.Minute)
	}
	// Made at 0, 23h, 47h and 71h; kid-2 and kid-3 activated at 24h and 48h.
	if got := c.generated(t); got != 4 {
		t.Errorf("%d keys generated, want 4", got)
	}
	for _, kid := range []string{"kid-1", "kid-2", "kid-3", "kid-4"} {
		if made[kid] != 1 {
			t.Errorf("%s made %d times", kid, made[kid])
		}
	}
	if activated["kid-2"] != 1 || activated["kid-3"] != 1 || len(activated) != 2 {
		t.Errorf("activations %v, want kid-2 and kid-3 once each", activated)
	}
	// The node that removes a key announces it, and the other announces
	// it again when its reload finds the key gone: once per node each.
	if got := c.removedKeys(); !slices.Equal(got, []string{"kid-1", "kid-1", "kid-2", "kid-2"}) {
		t.Errorf("key_removed events %v, want kid-1 and kid-2 once from each node", got)
	}
}

// watchedKeys is a key store that runs a hook after each write, to look at
// the shared storage between the writes of one rotation step.
type watchedKeys struct {
	*fakes.Keys
	after func(op string)
}

func (w watchedKeys) SaveSigningKey(ctx context.Context, k domain.SigningKey) error {
	err := w.Keys.SaveSigningKey(ctx, k)
	w.after(fmt.Sprintf("save %s as %s", k.ID, k.State))
	return err
}

func (w watchedKeys) DeleteSigningKey(ctx context.Context, kid string) error {
	err := w.Keys.DeleteSigningKey(ctx, kid)
	w.after("delete " + kid)
	return err
}

// A node whose schedule fires while another node is in the middle of a
// rotation step finds the lock taken and reloads at once: whatever it
// reads then, it must still have a key to sign with. (The nodes' ticks
// coincide by design, so this is the usual case, not a rare race.)
func TestRotateSigningKeysNoMomentWithoutActiveKey(t *testing.T) {
	c := newKeyCluster()
	reader := c.node(rotation)
	writes := 0
	writer := c.nodeOver(watchedKeys{Keys: c.store, after: func(op string) {
		writes++
		res, err := reader.rotate.Handle(t.Context(), application.RotateInput{})
		if err != nil {
			t.Fatalf("after %q: the other node's rotate: %v", op, err)
		}
		if res.Done {
			t.Fatalf("after %q: the other node ran while the lock was held", op)
		}
		if reader.active() == "" {
			t.Errorf("at t0+%v, after %q: the other node reloaded a key set with no active key (published %v): it cannot sign until its next tick",
				c.clock.Now().Sub(t0), op, kidsOf(reader.ring.Published()))
		}
	}}, rotation)

	for _, at := range []time.Duration{0, 23 * time.Hour, 24 * time.Hour, 28 * time.Hour} {
		c.clock.Advance(t0.Add(at).Sub(c.clock.Now()))
		writer.step(t, false)
		c.wantOneActive(t, writer, fmt.Sprintf("at t0+%v", at))
	}
	if writes != 5 { // create, publish, retire + activate, remove
		t.Errorf("%d writes, want 5", writes)
	}
}

// A store that fails is an error, never a silent skip. The store is never
// left without an active key, the lock is freed, and the step is taken
// once the store is back.
func TestRotateSigningKeysStoreFailures(t *testing.T) {
	tests := []struct {
		name string
		at   time.Duration // when the failing step runs, after t0
		fail func(f *fakes.FailingKeys)
		gen  application.KeyGenerator
		// idle is true when the step had nothing to do anyway.
		idle bool
	}{
		{name: "list fails at first start", at: 0, fail: func(f *fakes.FailingKeys) { f.FailList = true }},
		{name: "save fails at first start", at: 0, fail: func(f *fakes.FailingKeys) { f.FailSave = true }},
		{name: "generator fails at first start", at: 0, gen: fakes.BrokenKeyGenerator{}},
		{name: "list fails on schedule", at: time.Hour, fail: func(f *fakes.FailingKeys) { f.FailList = true }, idle: true},
		{name: "save fails at publication", at: 23 * time.Hour, fail: func(f *fakes.FailingKeys) { f.FailSave = true }},
		{name: "generator fails at publication", at: 23 * time.Hour, gen: fakes.BrokenKeyGenerator{}},
		{name: "first save fails at activation", at: 24 * time.Hour, fail: func(f *fakes.FailingKeys) { f.FailSave = true }},
		{name: "second save fails at activation", at: 24 * time.Hour, fail: func(f *fakes.FailingKeys) { f.FailSave, f.SavesOK = true, 1 }},
		{name: "delete fails at removal", at: 28 * time.Hour, fail: func(f *fakes.FailingKeys) { f.FailDelete = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newKeyCluster()
			healthy := c.node(rotation)
			// Bring the store to the state just before the failing step.
			for _, at := range []time.Duration{0, 23 * time.Hour, 24 * time.Hour} {
				if at >= tt.at {
					break
				}
				c.clock.Advance(t0.Add(at).Sub(c.clock.Now()))
				healthy.step(t, false)
			}
			c.clock.Advance(t0.Add(tt.at).Sub(c.clock.Now()))

			f := &fakes.FailingKeys{Keys: c.store}
			if tt.fail != nil {
				tt.fail(f)
			}
			gen := tt.gen
			if gen == nil {
				gen = c.gen
			}
			failing := application.NewRotateSigningKeys(f, gen, &application.KeyRing{}, c.locker, c.events, c.clock, rotation)
			_, err := failing.Handle(t.Context(), application.RotateInput{})
			wantInfraError(t, err, fakes.ErrDown)
			if tt.at > 0 {
				n := 0
				for _, k := range c.stored(t) {
					if k.State == domain.KeyActive {
						n++
					}
				}
				if n == 0 {
					t.Errorf("the failed step left the store with no active key: %s", statesOf(c.stored(t)))
				}
			}

			// The store is back: the step is taken (the lock was freed).
			res := healthy.step(t, false)
			if !res.Done || res.Plan.Empty() != tt.idle {
				t.Errorf("after the store came back: %+v, want the step taken", res)
			}
			c.wantOneActive(t, healthy, "after the store came back")
		})
	}
}

// statesOf lists kid=state, by kid.
func statesOf(keys map[string]domain.SigningKey) string {
	var out []string
	for id, k := range keys {
		out = append(out, id+"="+string(k.State))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// A lost key_removed message costs nothing but promptness: the key is
// removed all the same and the step succeeds.
func TestRotateSigningKeysFeedDownAtRemoval(t *testing.T) {
	c := newKeyCluster()
	n := c.node(rotation)
	for _, at := range []time.Duration{0, 23 * time.Hour, 24 * time.Hour} {
		c.clock.Advance(t0.Add(at).Sub(c.clock.Now()))
		n.step(t, false)
	}
	c.events.Err = errors.New("feed unreachable")
	c.clock.Advance(rotation.RetireFor)
	res := n.step(t, false)
	if !slices.Equal(res.Plan.Remove, []string{"kid-1"}) {
		t.Errorf("plan %+v, want kid-1 removed", res.Plan)
	}
	if _, ok := c.stored(t)["kid-1"]; ok {
		t.Error("kid-1 still stored")
	}
	if got := kidsOf(n.ring.Published()); !slices.Equal(got, []string{"kid-2"}) {
		t.Errorf("published %v, want only kid-2", got)
	}
}

// lossyKeys acknowledges writes it never makes, like a replica that lost
// them.
type lossyKeys struct{ *fakes.Keys }

func (lossyKeys) SaveSigningKey(context.Context, domain.SigningKey) error { return nil }

// A step after which the node still has no key to sign with is an error,
// not a node that starts and cannot issue tokens.
func TestRotateSigningKeysNoActiveKeyAfterStep(t *testing.T) {
	c := newKeyCluster()
	n := c.nodeOver(lossyKeys{c.store}, rotation)
	if _, err := n.rotate.Handle(t.Context(), application.RotateInput{}); err == nil {
		t.Error("no error though the node has no active key after its step")
	}
}

// Revoking a key removes it at once on every node, whatever the retire
// period says: the node that revokes drops it from its ring and announces
// it; the other node drops it on the announcement, before its reload.
func TestRevokeSigningKey(t *testing.T) {
	c := newKeyCluster()
	a, b := c.node(rotation), c.node(rotation)
	a.step(t, false)
	b.step(t, false)
	first := a.active()
	token := c.signToken(t, b)
	// b hears the feed as a node would.
	c.events.Subscribe(func(e domain.Event) {
		if e.Kind == domain.EventKeyRemoved {
			b.ring.Remove(e.KID)
		}
	})

	res, err := a.rotate.Revoke(t.Context(), first)
	if err != nil || !res.Done {
		t.Fatalf("revoke: %+v %v", res, err)
	}
	if res.Published == "" || res.Plan.Remove != first {
		t.Fatalf("revoking the only key: %+v, want a new key made", res)
	}
	if _, ok := c.stored(t)[first]; ok {
		t.Fatal("the revoked key is still in the store")
	}
	for name, n := range map[string]*authNode{"revoking node": a, "other node": b} {
		if n.ring.TrustsKey(first) {
			t.Errorf("%s still publishes the revoked key", name)
		}
		if _, err := n.verifier(c).VerifyAccessToken(t.Context(), token); !errors.Is(err, domain.ErrInvalidToken) {
			t.Errorf("%s still accepts a token of the revoked key: %v", name, err)
		}
	}
	if got := c.removedKeys(); !slices.Equal(got, []string{first}) {
		t.Errorf("key_removed events %v, want %s once", got, first)
	}
	c.wantOneActive(t, a, "after the revocation")
	// b signs with the new key once it reloads, and its reload does not
	// bring the revoked key back.
	b.step(t, false)
	c.wantOneActive(t, b, "after b's reload")

	if _, err := a.rotate.Revoke(t.Context(), first); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("revoking it again: %v, want not found", err)
	}
}

// A published key ready to sign takes over from a revoked active key at
// once, skipping what is left of its lead: no new key is made.
func TestRevokeActiveKeyHandsOverToThePublishedOne(t *testing.T) {
	c := newKeyCluster()
	a := c.node(rotation)
	a.step(t, false)
	first := a.active()
	next := a.step(t, true).Published
	audits := &fakes.Auditor{}
	a.rotate.AuditTo(audits)
	res, err := a.rotate.Revoke(t.Context(), first)
	if err != nil || res.Published != "" || res.Plan.Activate != next {
		t.Fatalf("revoke: %+v %v, want %s activated", res, err, next)
	}
	c.wantOneActive(t, a, "after the revocation")
	if a.active() != next {
		t.Fatalf("signs with %s, want %s", a.active(), next)
	}
	want := []application.AuditEvent{{Kind: application.AuditKeyActivated, KID: next}, {Kind: application.AuditKeyRemoved, KID: first}}
	if got := audits.Events(); !slices.EqualFunc(got, want, func(a, b application.AuditEvent) bool { return a.Kind == b.Kind && a.KID == b.KID }) {
		t.Errorf("audit trail %+v, want %+v", got, want)
	}
}

// A node whose reload finds a key gone that it still held (revoked by a
// command, without a feed to hear it on) announces the removal itself.
func TestReloadAnnouncesAKeyRemovedElsewhere(t *testing.T) {
	c := newKeyCluster()
	a := c.node(rotation)
	a.step(t, false)
	a.step(t, true)
	first := a.active()
	if err := c.store.DeleteSigningKey(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	if err := a.rotate.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := c.removedKeys(); !slices.Equal(got, []string{first}) {
		t.Errorf("key_removed events %v, want %s", got, first)
	}
}

// A feed that is down does not stop a revocation: the key is gone from
// the store, and the result says the nodes could not be told.
func TestRevokeWithTheFeedDown(t *testing.T) {
	c := newKeyCluster()
	a := c.node(rotation)
	a.step(t, false)
	first := a.active()
	c.events.Err = errors.New("redis: connection refused")
	res, err := a.rotate.Revoke(t.Context(), first)
	if err != nil || !res.Done || res.AnnounceErr == nil {
		t.Fatalf("revoke with the feed down: %+v %v, want done with AnnounceErr", res, err)
	}
	if _, ok := c.stored(t)[first]; ok {
		t.Fatal("the key stayed in the store")
	}
}

// A node told that its signing key was revoked signs at once with the
// published key the revoking node handed over to, before its reload.
func TestRingRemoveHandsSigningOver(t *testing.T) {
	c := newKeyCluster()
	a, b := c.node(rotation), c.node(rotation)
	a.step(t, false)
	next := a.step(t, true).Published
	b.step(t, false)
	first := b.active()
	if _, err := a.rotate.Revoke(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	if !b.ring.Remove(first) {
		t.Fatal("the ring did not hold the revoked key")
	}
	if b.active() != next {
		t.Fatalf("b signs with %q before its reload, want %s", b.active(), next)
	}
	b.step(t, false)
	c.wantOneActive(t, b, "after b's reload")
}
