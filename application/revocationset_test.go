package application_test

import (
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

func revokedEvent(jti string, exp time.Time) domain.Event {
	return domain.Event{Kind: domain.EventRevoked, JTI: jti, ExpiresAt: exp}
}

// A revoked jti stays revoked exactly until the token would have expired.
func TestRevocationSetApply(t *testing.T) {
	clock := fakes.NewClock(t0)
	set := application.NewRevocationSet(clock)
	if set.Revoked("jti-1") {
		t.Fatal("an empty set reports a revocation")
	}

	set.Apply(revokedEvent("jti-1", t0.Add(time.Hour)))
	if !set.Revoked("jti-1") {
		t.Error("revoked jti not reported")
	}
	if set.Revoked("jti-2") {
		t.Error("a jti never revoked is reported revoked")
	}
	clock.Advance(time.Hour - time.Second)
	if !set.Revoked("jti-1") {
		t.Error("revocation forgotten a second before the token expires")
	}
	clock.Advance(time.Second)
	if set.Revoked("jti-1") {
		t.Error("revocation still reported once the token expired")
	}
}

// A later event with an earlier exp (a duplicate, or a stale catch-up)
// never cuts a revocation short; a later exp extends it.
func TestRevocationSetNeverShortens(t *testing.T) {
	clock := fakes.NewClock(t0)
	set := application.NewRevocationSet(clock)
	set.Apply(revokedEvent("jti-1", t0.Add(2*time.Hour)))
	set.Apply(revokedEvent("jti-1", t0.Add(time.Minute)))
	clock.Advance(time.Hour)
	if !set.Revoked("jti-1") {
		t.Error("a shorter later event shortened the revocation")
	}
	set.Apply(revokedEvent("jti-1", t0.Add(3*time.Hour)))
	clock.Advance(90 * time.Minute)
	if !set.Revoked("jti-1") {
		t.Error("a longer later event did not extend the revocation")
	}
}

// Only revocations count: other kinds, and events without a jti or exp,
// change nothing.
func TestRevocationSetIgnoresOtherEvents(t *testing.T) {
	set := application.NewRevocationSet(fakes.NewClock(t0))
	exp := t0.Add(time.Hour)
	for _, e := range []domain.Event{
		{Kind: domain.EventKeyRemoved, KID: "jti-1", JTI: "jti-1", ExpiresAt: exp},
		{Kind: domain.EventClientChanged, ClientID: "jti-1", JTI: "jti-1", ExpiresAt: exp},
		{Kind: "something-new", JTI: "jti-1", ExpiresAt: exp},
		{Kind: domain.EventRevoked, ExpiresAt: exp},
		{Kind: domain.EventRevoked, JTI: "jti-2"},
	} {
		set.Apply(e)
		if err := set.Publish(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	for _, jti := range []string{"jti-1", "jti-2", ""} {
		if set.Revoked(jti) {
			t.Errorf("%q reported revoked after non-revocation events", jti)
		}
	}
}

// Sweep forgets what has expired and keeps what has not. What it dropped
// is seen by turning the fake clock back: a forgotten entry no longer
// reads as revoked even before its exp.
func TestRevocationSetSweep(t *testing.T) {
	clock := fakes.NewClock(t0)
	set := application.NewRevocationSet(clock)
	set.Apply(revokedEvent("short", t0.Add(time.Minute)))
	set.Apply(revokedEvent("long", t0.Add(time.Hour)))

	clock.Advance(time.Minute - time.Second)
	set.Sweep() // nothing has expired yet
	clock.Advance(-time.Second)
	if !set.Revoked("short") || !set.Revoked("long") {
		t.Fatal("Sweep forgot a live revocation")
	}

	clock.Advance(2 * time.Second) // t0+1m: "short" expires now
	set.Sweep()
	if set.Revoked("short") || !set.Revoked("long") {
		t.Errorf("after Sweep short=%v long=%v, want false true", set.Revoked("short"), set.Revoked("long"))
	}
	clock.Advance(-time.Second)
	if set.Revoked("short") {
		t.Error("Sweep kept an entry whose token had expired")
	}
	if !set.Revoked("long") {
		t.Error("Sweep forgot a live revocation")
	}
}

// A node that joins late loads the live deny list and refuses what was
// revoked before it started.
func TestRevocationSetCatchUp(t *testing.T) {
	clock := fakes.NewClock(t0)
	denied := fakes.NewExpiring(clock)
	for jti, d := range map[string]time.Duration{"a": time.Hour, "b": 2 * time.Hour, "gone": time.Minute} {
		if err := denied.Deny(t.Context(), jti, t0.Add(d)); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Minute) // "gone" expired before the node joined

	set := application.NewRevocationSet(clock)
	set.Apply(revokedEvent("a", t0.Add(3*time.Hour))) // heard on the feed already, for longer
	n, err := set.CatchUp(t.Context(), denied)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("CatchUp loaded %d entries, want 2", n)
	}
	if !set.Revoked("a") || !set.Revoked("b") || set.Revoked("gone") {
		t.Errorf("after catch-up a=%v b=%v gone=%v, want true true false", set.Revoked("a"), set.Revoked("b"), set.Revoked("gone"))
	}
	clock.Advance(2 * time.Hour) // past b's exp and the deny list's a, not the feed's a
	if !set.Revoked("a") {
		t.Error("catch-up shortened a revocation heard on the feed")
	}
	if set.Revoked("b") {
		t.Error("caught-up revocation outlived its token")
	}
}

func TestRevocationSetCatchUpFailure(t *testing.T) {
	set := application.NewRevocationSet(fakes.NewClock(t0))
	n, err := set.CatchUp(t.Context(), fakes.BrokenExpiring{})
	if n != 0 {
		t.Errorf("CatchUp reported %d entries from a store that is down", n)
	}
	wantInfraError(t, err, fakes.ErrDown)
}

// Publish applies the event in process: the feed of a single node.
func TestRevocationSetPublish(t *testing.T) {
	set := application.NewRevocationSet(fakes.NewClock(t0))
	var feed application.EventPublisher = set
	if err := feed.Publish(t.Context(), revokedEvent("jti-1", t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if !set.Revoked("jti-1") {
		t.Error("published revocation not applied")
	}
}
