package application_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// The playground's rotation makes a new key sign at once and keeps the
// one before published (retired), so its tokens still verify; a second
// one within the pace is refused.
func TestRotateDemoKeysSignsWithANewKeyAtOnce(t *testing.T) {
	c := newKeyCluster()
	n := c.node(rotation)
	n.step(t, false)
	before := n.active()
	demo := application.NewRotateDemoKeys(n.rotate, c.clock)

	kid, err := demo.Handle(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if kid == before || n.active() != kid {
		t.Fatalf("after the rotation the ring signs with %q, want the new key %q (not %q)", n.active(), kid, before)
	}
	keys := c.stored(t)
	if keys[kid].State != domain.KeyActive || keys[before].State != domain.KeyRetired {
		t.Errorf("new key %s, old key %s: want active and retired", keys[kid].State, keys[before].State)
	}
	if _, err := demo.Handle(t.Context()); !errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Errorf("a second rotation at once: %v, want temporarily unavailable", err)
	}
	c.clock.Advance(5 * time.Second)
	if _, err := demo.Handle(t.Context()); err != nil {
		t.Errorf("a rotation after the pace: %v", err)
	}
}

// However often it is asked, the playground never grows the key set past
// a bound: the JWKS every resource server fetches stays small.
func TestRotateDemoKeysKeepsTheKeySetBounded(t *testing.T) {
	c := newKeyCluster()
	n := c.node(rotation)
	n.step(t, false)
	demo := application.NewRotateDemoKeys(n.rotate, c.clock)
	refused := false
	for range 20 {
		if _, err := demo.Handle(t.Context()); errors.Is(err, domain.ErrTemporarilyUnavailable) {
			refused = true
		} else if err != nil {
			t.Fatal(err)
		}
		c.clock.Advance(6 * time.Second)
	}
	retired := 0
	for _, k := range c.stored(t) {
		if k.State == domain.KeyRetired {
			retired++
		}
	}
	if !refused || retired > 8 {
		t.Errorf("after 20 playground rotations: %d retired keys, refused %v; want at most 8 and refusals", retired, refused)
	}
}
