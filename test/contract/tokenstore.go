package contract

import (
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// TokenStore checks an application.TokenStore. newStore returns an empty
// store that judges expiry by clock. The clock starts at the wall-clock
// time and is never advanced, so that a store whose expiry runs on real
// time, as Redis's does, is held to the same contract: expired tokens are
// saved with an expiry already past. Stores driven by the clock alone
// should also test advancing it in their own tests.
func TokenStore(t *testing.T, newStore func(t *testing.T, clock *fakes.Clock) application.TokenStore) {
	setup := func(t *testing.T) (application.TokenStore, time.Time) {
		// Whole seconds, as IssueToken makes them.
		now := time.Now().UTC().Truncate(time.Second)
		return newStore(t, fakes.NewClock(now)), now
	}

	t.Run("a saved token is found by its value with every field", func(t *testing.T) {
		store, now := setup(t)
		want := sampleToken(now)
		mustSaveToken(t, store, want)

		got, err := store.FindToken(t.Context(), want.Value)
		if err != nil {
			t.Fatalf("FindToken: %v", err)
		}
		assertSameToken(t, got, want)
	})

	t.Run("an exchanged token keeps its act chain and its parent", func(t *testing.T) {
		store, now := setup(t)
		want := sampleToken(now)
		want.Actor = &domain.Actor{Subject: "service-c", Prior: &domain.Actor{Subject: "spiffe://example.org/b", Issuer: "https://spire.example.org"}}
		want.Parent = "0b9f4a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b"
		mustSaveToken(t, store, want)
		got, err := store.FindToken(t.Context(), want.Value)
		if err != nil {
			t.Fatalf("FindToken: %v", err)
		}
		assertSameToken(t, got, want)
	})

	t.Run("a certificate-bound token keeps its certificate's thumbprint", func(t *testing.T) {
		store, now := setup(t)
		want := sampleToken(now)
		want.X5T = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"
		mustSaveToken(t, store, want)
		got, err := store.FindToken(t.Context(), want.Value)
		if err != nil {
			t.Fatalf("FindToken: %v", err)
		}
		assertSameToken(t, got, want)
	})

	t.Run("a DPoP-bound token keeps the thumbprint of its key", func(t *testing.T) {
		store, now := setup(t)
		want := sampleToken(now)
		want.JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
		mustSaveToken(t, store, want)

		got, err := store.FindToken(t.Context(), want.Value)
		if err != nil {
			t.Fatalf("FindToken: %v", err)
		}
		assertSameToken(t, got, want)
	})

	t.Run("a token granting nothing in particular keeps its empty fields", func(t *testing.T) {
		store, now := setup(t)
		want := domain.Token{Value: rand.Text(), Format: domain.FormatOpaque, ExpiresAt: now.Add(time.Minute)}
		mustSaveToken(t, store, want)

		got, err := store.FindToken(t.Context(), want.Value)
		if err != nil {
			t.Fatalf("FindToken: %v", err)
		}
		assertSameToken(t, got, want)
	})

	t.Run("an unknown value is not found", func(t *testing.T) {
		store, now := setup(t)
		saved := sampleToken(now)
		mustSaveToken(t, store, saved)

		for _, value := range []string{rand.Text(), saved.Value[:len(saved.Value)-1], saved.Value + "x", ""} {
			if _, err := store.FindToken(t.Context(), value); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("FindToken(%q) error = %v, want domain.ErrNotFound", value, err)
			}
		}
	})

	t.Run("an expired token is not found", func(t *testing.T) {
		store, now := setup(t)
		expired := sampleToken(now.Add(-5 * time.Hour))
		expired.ExpiresAt = now.Add(-time.Second)
		expiring := sampleToken(now.Add(-4 * time.Hour))
		expiring.ExpiresAt = now // RFC 7519 §4.1.4: not accepted on or after exp
		mustSaveToken(t, store, expired)
		mustSaveToken(t, store, expiring)

		for name, tok := range map[string]domain.Token{"expired a second ago": expired, "expiring now": expiring} {
			if got, err := store.FindToken(t.Context(), tok.Value); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("%s: FindToken = %+v, %v; want domain.ErrNotFound", name, got, err)
			}
		}
	})

	t.Run("saving a value again replaces its token", func(t *testing.T) {
		store, now := setup(t)
		first := sampleToken(now)
		mustSaveToken(t, store, first)
		second := first
		second.ID = "second-jti"
		second.Scopes = domain.NewScopes("country.read")
		second.Audience = []string{"elsewhere"}
		second.ExpiresAt = now.Add(time.Hour)
		mustSaveToken(t, store, second)

		got, err := store.FindToken(t.Context(), first.Value)
		if err != nil {
			t.Fatalf("FindToken: %v", err)
		}
		assertSameToken(t, got, second)
	})

	t.Run("re-saving a token as expired revokes it", func(t *testing.T) {
		store, now := setup(t)
		tok := sampleToken(now)
		mustSaveToken(t, store, tok)
		tok.ExpiresAt = now.Add(-time.Second)
		mustSaveToken(t, store, tok)

		if _, err := store.FindToken(t.Context(), tok.Value); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("FindToken error = %v, want domain.ErrNotFound", err)
		}
	})

	t.Run("each value finds its own token", func(t *testing.T) {
		store, now := setup(t)
		a := sampleToken(now)
		b := sampleToken(now)
		b.ClientID, b.Subject, b.ID = "service-client-jwt", "service-client-jwt", "b-jti"
		b.Scopes = domain.NewScopes("customer.write")
		mustSaveToken(t, store, a)
		mustSaveToken(t, store, b)

		for _, want := range []domain.Token{a, b} {
			got, err := store.FindToken(t.Context(), want.Value)
			if err != nil {
				t.Fatalf("FindToken(%s): %v", want.ID, err)
			}
			assertSameToken(t, got, want)
		}
	})

	t.Run("a deleted token is not found", func(t *testing.T) {
		store, now := setup(t)
		gone := sampleToken(now)
		kept := sampleToken(now)
		mustSaveToken(t, store, gone)
		mustSaveToken(t, store, kept)

		if err := store.DeleteToken(t.Context(), gone.Value); err != nil {
			t.Fatalf("DeleteToken: %v", err)
		}
		if _, err := store.FindToken(t.Context(), gone.Value); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("FindToken after DeleteToken error = %v, want domain.ErrNotFound", err)
		}
		got, err := store.FindToken(t.Context(), kept.Value)
		if err != nil {
			t.Fatalf("FindToken of the other token: %v", err)
		}
		assertSameToken(t, got, kept)
	})

	t.Run("deleting an unknown token is not an error", func(t *testing.T) {
		store, now := setup(t)
		tok := sampleToken(now)
		mustSaveToken(t, store, tok)

		// RFC 7009 §2.2: revoking an unknown or already revoked token
		// succeeds.
		for _, value := range []string{rand.Text(), tok.Value[:len(tok.Value)-1], ""} {
			if err := store.DeleteToken(t.Context(), value); err != nil {
				t.Errorf("DeleteToken(%q): %v", value, err)
			}
		}
		if _, err := store.FindToken(t.Context(), tok.Value); err != nil {
			t.Errorf("FindToken after deleting other values: %v", err)
		}
		for range 2 {
			if err := store.DeleteToken(t.Context(), tok.Value); err != nil {
				t.Errorf("DeleteToken of a saved, then deleted token: %v", err)
			}
		}
	})
}

// sampleToken is a token issued at issued, as IssueToken makes one for the
// opaque demo client, with a fresh value.
func sampleToken(issued time.Time) domain.Token {
	return domain.Token{
		Value:     rand.Text() + rand.Text(),
		Format:    domain.FormatOpaque,
		ID:        "4df7aa1c-96be-4653-a7bd-" + rand.Text()[:12],
		Issuer:    "http://localhost:8085/ms-auth-server",
		Subject:   "user-client-opaque",
		ClientID:  "user-client-opaque",
		Scopes:    domain.NewScopes("country.read", "customer.read"),
		Audience:  []string{"user-client-opaque", "https://api.example.com/resource with space"},
		IssuedAt:  issued,
		NotBefore: issued.Add(time.Second),
		ExpiresAt: issued.Add(4 * time.Hour),
	}
}

func mustSaveToken(t *testing.T, store application.TokenStore, tok domain.Token) {
	t.Helper()
	if err := store.SaveToken(t.Context(), tok); err != nil {
		t.Fatalf("SaveToken: %v", err)
	}
}

// assertSameToken compares field by field: times by instant (a store may
// hand back another location), lists by content (nil and empty alike).
func assertSameToken(t *testing.T, got, want domain.Token) {
	t.Helper()
	var diffs []string
	check := func(field string, same bool, g, w any) {
		if !same {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check("Value", got.Value == want.Value, got.Value, want.Value)
	check("Format", got.Format == want.Format, got.Format, want.Format)
	check("ID", got.ID == want.ID, got.ID, want.ID)
	check("Issuer", got.Issuer == want.Issuer, got.Issuer, want.Issuer)
	check("Subject", got.Subject == want.Subject, got.Subject, want.Subject)
	check("ClientID", got.ClientID == want.ClientID, got.ClientID, want.ClientID)
	check("Scopes", slices.Equal(got.Scopes, want.Scopes), got.Scopes, want.Scopes)
	check("Audience", slices.Equal(got.Audience, want.Audience), got.Audience, want.Audience)
	check("IssuedAt", got.IssuedAt.Equal(want.IssuedAt), got.IssuedAt, want.IssuedAt)
	check("NotBefore", got.NotBefore.Equal(want.NotBefore), got.NotBefore, want.NotBefore)
	check("ExpiresAt", got.ExpiresAt.Equal(want.ExpiresAt), got.ExpiresAt, want.ExpiresAt)
	check("JKT", got.JKT == want.JKT, got.JKT, want.JKT)
	check("X5T", got.X5T == want.X5T, got.X5T, want.X5T)
	check("Actor", reflect.DeepEqual(got.Actor, want.Actor), got.Actor, want.Actor)
	check("Parent", got.Parent == want.Parent, got.Parent, want.Parent)
	for _, d := range diffs {
		t.Error(d)
	}
}
