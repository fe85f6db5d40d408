package application_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// countingVerifier answers with a fixed token, or an error, counting calls.
type countingVerifier struct {
	token domain.Token
	err   error
	calls atomic.Int64
}

func (v *countingVerifier) VerifyAccessToken(_ context.Context, raw string) (domain.Token, error) {
	v.calls.Add(1)
	t := v.token
	t.Value = raw
	return t, v.err
}

func (v *countingVerifier) IntrospectToken(ctx context.Context, raw string) (domain.Token, error) {
	return v.VerifyAccessToken(ctx, raw)
}

func TestCachedVerifierChecksEachTokenOnceUntilItExpires(t *testing.T) {
	clock := fakes.NewClock(t0)
	inner := &countingVerifier{token: domain.Token{ID: "j1", KeyID: "k1", ExpiresAt: t0.Add(time.Minute)}}
	v := application.NewCachedVerifier(inner, fakes.NewTrustedKeys("k1"), clock, 100)
	for range 5 {
		got, err := v.VerifyAccessToken(t.Context(), "a.b.c")
		if err != nil || got.ID != "j1" || got.Value != "a.b.c" {
			t.Fatalf("got %+v, %v", got, err)
		}
	}
	if inner.calls.Load() != 1 {
		t.Fatalf("5 requests with one token verified it %d times, want 1", inner.calls.Load())
	}
	if _, err := v.VerifyAccessToken(t.Context(), "a.b.d"); err != nil || inner.calls.Load() != 2 {
		t.Fatal("another token was answered from the first one's entry")
	}
	clock.Advance(time.Minute)
	inner.token.ExpiresAt = t0.Add(time.Hour)
	_, _ = v.VerifyAccessToken(t.Context(), "a.b.c")
	if inner.calls.Load() != 3 {
		t.Fatal("an entry was used past the token's expiry")
	}
}

func TestCachedVerifierRemembersNoFailure(t *testing.T) {
	inner := &countingVerifier{err: domain.ErrInvalidToken.With("bad signature")}
	v := application.NewCachedVerifier(inner, fakes.NewTrustedKeys("k1"), fakes.NewClock(t0), 100)
	for range 3 {
		if _, err := v.VerifyAccessToken(t.Context(), "x.y.z"); !errors.Is(err, domain.ErrInvalidToken) {
			t.Fatalf("got %v", err)
		}
	}
	if inner.calls.Load() != 3 {
		t.Fatalf("a failed check was remembered: %d calls for 3 requests", inner.calls.Load())
	}
}

func TestCachedIntrospectorNeverOutlivesTheTokenOrItsTTL(t *testing.T) {
	clock := fakes.NewClock(t0)
	inner := &countingVerifier{token: domain.Token{ID: "o1", ExpiresAt: t0.Add(time.Hour)}}
	i := application.NewCachedIntrospector(inner, clock, 10*time.Second, 100)
	for range 3 {
		if _, err := i.IntrospectToken(t.Context(), "opaque"); err != nil {
			t.Fatal(err)
		}
	}
	if inner.calls.Load() != 1 {
		t.Fatalf("3 requests introspected %d times, want 1", inner.calls.Load())
	}
	clock.Advance(10 * time.Second)
	_, _ = i.IntrospectToken(t.Context(), "opaque")
	if inner.calls.Load() != 2 {
		t.Fatal("an answer was reused past the ttl")
	}

	// A token expiring before the ttl is not reused past its expiry.
	inner.token.ExpiresAt = clock.Now().Add(2 * time.Second)
	_, _ = i.IntrospectToken(t.Context(), "short")
	clock.Advance(3 * time.Second)
	_, _ = i.IntrospectToken(t.Context(), "short")
	if inner.calls.Load() != 4 {
		t.Fatalf("an answer was reused past the token's expiry (%d calls)", inner.calls.Load())
	}
}

func TestCachedTokensStillObeyRevocation(t *testing.T) {
	clock := fakes.NewClock(t0)
	inner := &countingVerifier{token: domain.Token{ID: "j1", KeyID: "k1", ExpiresAt: t0.Add(time.Hour), Scopes: domain.NewScopes("country.read")}}
	revoked := application.NewRevocationSet(clock)
	authorize := application.NewAuthorizeBearer(
		application.NewCachedVerifier(inner, fakes.NewTrustedKeys("k1"), clock, 100),
		application.NewCachedIntrospector(inner, clock, time.Minute, 100), revoked, "")
	in := func(raw string) application.AuthorizeBearerInput {
		return application.AuthorizeBearerInput{Token: raw, Required: domain.NewScopes("country.read")}
	}
	for _, raw := range []string{"a.b.c", "opaque"} {
		if _, err := authorize.Handle(t.Context(), in(raw)); err != nil {
			t.Fatal(err)
		}
	}
	revoked.Apply(domain.Event{Kind: domain.EventRevoked, JTI: "j1", ExpiresAt: t0.Add(time.Hour)})
	for _, raw := range []string{"a.b.c", "opaque"} {
		if _, err := authorize.Handle(t.Context(), in(raw)); !errors.Is(err, domain.ErrInvalidToken) {
			t.Fatalf("%s: a cached token outlived its revocation: %v", raw, err)
		}
	}
}

func TestTokenCacheStaysWithinItsBound(t *testing.T) {
	inner := &countingVerifier{token: domain.Token{ID: "j", KeyID: "k1", ExpiresAt: t0.Add(time.Hour)}}
	v := application.NewCachedVerifier(inner, fakes.NewTrustedKeys("k1"), fakes.NewClock(t0), 2)
	for i := range 3 {
		_, _ = v.VerifyAccessToken(t.Context(), fmt.Sprintf("t.%d.x", i))
	}
	inner.calls.Store(0)
	for i := range 3 {
		_, _ = v.VerifyAccessToken(t.Context(), fmt.Sprintf("t.%d.x", i))
	}
	if inner.calls.Load() == 0 {
		t.Fatal("three tokens were all remembered by a cache bounded to two")
	}
}

// A removed key ends every cached verification of what it signed at once,
// while tokens of the other keys stay cached.
func TestCachedVerifierRefusesTokensOfARemovedKey(t *testing.T) {
	clock := fakes.NewClock(t0)
	keys := fakes.NewTrustedKeys("k1", "k2")
	inner := &countingVerifier{}
	v := application.NewCachedVerifier(inner, keys, clock, 100)
	verify := func(raw, kid string) error {
		inner.token = domain.Token{ID: raw, KeyID: kid, ExpiresAt: t0.Add(time.Hour)}
		_, err := v.VerifyAccessToken(t.Context(), raw)
		return err
	}
	for _, c := range [][2]string{{"a.1.x", "k1"}, {"a.2.x", "k2"}} {
		if err := verify(c[0], c[1]); err != nil {
			t.Fatal(err)
		}
	}
	keys.Remove("k1")
	// The inner verifier would still say yes (its key set is stale): the
	// cache must not ask it, and must not answer from the old entry.
	inner.calls.Store(0)
	if err := verify("a.1.x", "k1"); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("a token of a removed key was answered from the cache: %v", err)
	}
	if err := verify("a.2.x", "k2"); err != nil {
		t.Fatalf("a token of a key still trusted was refused: %v", err)
	}
	if inner.calls.Load() != 0 {
		t.Fatalf("%d verifications for two cached tokens, want 0", inner.calls.Load())
	}
}

// A token whose verifier reported no kid is never cached: a removal could
// not be matched to it.
func TestCachedVerifierKeepsNoTokenWithoutKid(t *testing.T) {
	inner := &countingVerifier{token: domain.Token{ID: "j", ExpiresAt: t0.Add(time.Hour)}}
	v := application.NewCachedVerifier(inner, fakes.NewTrustedKeys("k1"), fakes.NewClock(t0), 100)
	for range 2 {
		if _, err := v.VerifyAccessToken(t.Context(), "a.b.c"); err != nil {
			t.Fatal(err)
		}
	}
	if inner.calls.Load() != 2 {
		t.Fatalf("a token without a kid was cached (%d calls for 2)", inner.calls.Load())
	}
}
