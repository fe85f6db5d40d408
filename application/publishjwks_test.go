package application_test

import (
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

func TestPublishJWKS(t *testing.T) {
	ring := &application.KeyRing{}
	ring.Set([]domain.SigningKey{
		{ID: "kid-active", State: domain.KeyActive},
		{ID: "kid-next", State: domain.KeyPublished},
		{ID: "kid-old", State: domain.KeyRetired},
		{ID: "kid-unknown-state"},
	})
	enc := &fakes.JWKSEncoder{}
	pub := application.NewPublishJWKS(ring, enc, 15*time.Minute)

	got, err := pub.Handle(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kids":["kid-active","kid-next","kid-old"]}`
	if string(got.JSON) != want {
		t.Errorf("JWKS = %s, want %s", got.JSON, want)
	}
	if got.MaxAge != 15*time.Minute {
		t.Errorf("MaxAge = %v, want 15m", got.MaxAge)
	}
}

func TestPublishJWKSEncodesOncePerKeySet(t *testing.T) {
	ring := &application.KeyRing{}
	ring.Set([]domain.SigningKey{{ID: "kid-1", State: domain.KeyActive}})
	enc := &fakes.JWKSEncoder{}
	pub := application.NewPublishJWKS(ring, enc, time.Minute)

	for range 3 {
		got, err := pub.Handle(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if string(got.JSON) != `{"kids":["kid-1"]}` {
			t.Fatalf("JWKS = %s", got.JSON)
		}
	}
	if enc.Calls != 1 {
		t.Errorf("encoder called %d times for an unchanged key set, want 1", enc.Calls)
	}

	// Rotation: a new key is published next to the active one.
	ring.Set([]domain.SigningKey{{ID: "kid-1", State: domain.KeyActive}, {ID: "kid-2", State: domain.KeyPublished}})
	got, err := pub.Handle(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if string(got.JSON) != `{"kids":["kid-1","kid-2"]}` {
		t.Errorf("JWKS after rotation = %s, want both keys", got.JSON)
	}
	if enc.Calls != 2 {
		t.Errorf("encoder called %d times after the key set changed, want 2", enc.Calls)
	}
	if got.MaxAge != time.Minute {
		t.Errorf("MaxAge of a re-encoded set = %v, want 1m", got.MaxAge)
	}

	// The old key leaves the set.
	ring.Set([]domain.SigningKey{{ID: "kid-2", State: domain.KeyActive}})
	if got, _ := pub.Handle(t.Context()); string(got.JSON) != `{"kids":["kid-2"]}` {
		t.Errorf("JWKS after removal = %s, want only kid-2", got.JSON)
	}
}
