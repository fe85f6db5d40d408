package application_test

import (
	"testing"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// generated reports how many keys gen has made, by drawing one more: the
// fake numbers its kids kid-1, kid-2, ...
func generated(t *testing.T, gen *fakes.KeyGenerator) string {
	t.Helper()
	k, err := gen.GenerateSigningKey(domain.RS256)
	if err != nil {
		t.Fatal(err)
	}
	return k.ID
}

func TestLoadSigningKeysEmptyStore(t *testing.T) {
	store := &fakes.Keys{}
	gen := &fakes.KeyGenerator{}
	clock := fakes.NewClock(t0)
	ring := &application.KeyRing{}

	if err := application.NewLoadSigningKeys(store, gen, ring, clock, domain.RS256).Handle(t.Context()); err != nil {
		t.Fatal(err)
	}
	active, ok := ring.Active()
	if !ok {
		t.Fatal("no active key in the ring")
	}
	if active.ID != "kid-1" || active.Algorithm != domain.RS256 || !active.CreatedAt.Equal(t0) {
		t.Errorf("active key = %s %s created %v, want kid-1 RS256 created %v", active.ID, active.Algorithm, active.CreatedAt, t0)
	}
	stored, err := store.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].ID != active.ID || stored[0].State != domain.KeyActive {
		t.Fatalf("store holds %+v, want the active key %s", stored, active.ID)
	}
	if pub := ring.Published(); len(pub) != 1 || pub[0].ID != active.ID {
		t.Errorf("published keys = %+v, want only %s", pub, active.ID)
	}

	// A restart: new ring, same store. The kid must survive, or every
	// resource server's cached JWKS and every issued token break.
	ring2 := &application.KeyRing{}
	if err := application.NewLoadSigningKeys(store, gen, ring2, clock, domain.RS256).Handle(t.Context()); err != nil {
		t.Fatal(err)
	}
	again, ok := ring2.Active()
	if !ok || again.ID != active.ID {
		t.Errorf("after restart active kid = %q, want %q", again.ID, active.ID)
	}
	if next := generated(t, gen); next != "kid-2" {
		t.Errorf("the generator was called again on restart: next kid is %s, want kid-2", next)
	}
	if stored, _ := store.ListSigningKeys(t.Context()); len(stored) != 1 {
		t.Errorf("store holds %d keys after restart, want 1", len(stored))
	}
}

func TestLoadSigningKeysExistingActiveKey(t *testing.T) {
	existing, err := (&fakes.KeyGenerator{}).GenerateSigningKey(domain.RS256)
	if err != nil {
		t.Fatal(err)
	}
	existing.ID, existing.State = "kept-kid", domain.KeyActive
	retired := domain.SigningKey{ID: "old-kid", Algorithm: domain.RS256, State: domain.KeyRetired, Private: existing.Private}
	store := &fakes.Keys{}
	for _, k := range []domain.SigningKey{retired, existing} {
		if err := store.SaveSigningKey(t.Context(), k); err != nil {
			t.Fatal(err)
		}
	}
	gen := &fakes.KeyGenerator{}
	ring := &application.KeyRing{}

	if err := application.NewLoadSigningKeys(store, gen, ring, fakes.NewClock(t0), domain.RS256).Handle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if active, ok := ring.Active(); !ok || active.ID != "kept-kid" {
		t.Errorf("active kid = %q, want kept-kid", active.ID)
	}
	if pub := ring.Published(); len(pub) != 2 {
		t.Errorf("published %d keys, want the active and the retired one", len(pub))
	}
	if next := generated(t, gen); next != "kid-1" {
		t.Errorf("a key was generated though the store had an active one (next kid %s)", next)
	}
}

// Retired keys alone cannot sign: a new active key joins them, and they
// stay published for the tokens they signed.
func TestLoadSigningKeysOnlyRetiredKeys(t *testing.T) {
	retired, err := (&fakes.KeyGenerator{}).GenerateSigningKey(domain.RS256)
	if err != nil {
		t.Fatal(err)
	}
	retired.ID, retired.State = "old-kid", domain.KeyRetired
	store := &fakes.Keys{}
	if err := store.SaveSigningKey(t.Context(), retired); err != nil {
		t.Fatal(err)
	}
	gen := &fakes.KeyGenerator{}
	ring := &application.KeyRing{}

	if err := application.NewLoadSigningKeys(store, gen, ring, fakes.NewClock(t0), domain.RS256).Handle(t.Context()); err != nil {
		t.Fatal(err)
	}
	active, ok := ring.Active()
	if !ok || active.ID != "kid-1" {
		t.Fatalf("active kid = %q, want a new kid-1", active.ID)
	}
	if _, _, err := ring.VerificationKey(t.Context(), "old-kid"); err != nil {
		t.Errorf("retired key no longer verifies: %v", err)
	}
	if stored, _ := store.ListSigningKeys(t.Context()); len(stored) != 2 {
		t.Errorf("store holds %d keys, want the retired and the new one", len(stored))
	}
}

// A change of the configured algorithm makes a new key of that algorithm
// active and retires the old one, which stays published.
func TestLoadSigningKeysAlgorithmChange(t *testing.T) {
	store := &fakes.Keys{}
	gen := &fakes.KeyGenerator{}
	if err := application.NewLoadSigningKeys(store, gen, &application.KeyRing{}, fakes.NewClock(t0), domain.RS256).Handle(t.Context()); err != nil {
		t.Fatal(err)
	}
	ring := &application.KeyRing{}
	if err := application.NewLoadSigningKeys(store, gen, ring, fakes.NewClock(t0), domain.ES256).Handle(t.Context()); err != nil {
		t.Fatal(err)
	}
	active, ok := ring.Active()
	if !ok || active.Algorithm != domain.ES256 || active.ID != "kid-2" {
		t.Fatalf("active key %s %s, want a new ES256 key", active.ID, active.Algorithm)
	}
	stored, _ := store.ListSigningKeys(t.Context())
	if len(stored) != 2 || stored[0].State != domain.KeyRetired || stored[0].Algorithm != domain.RS256 {
		t.Fatalf("store holds %+v, want the RS256 key retired beside the new one", stored)
	}
	if _, alg, err := ring.VerificationKey(t.Context(), stored[0].ID); err != nil || alg != domain.RS256 {
		t.Errorf("the retired key no longer verifies: %v", err)
	}
}
