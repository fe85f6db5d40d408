package application_test

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/secrethash"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// benchEnv wires the token-side use cases with the real argon2id hasher
// and the verified-credential cache on, and fakes for storage and JOSE, so
// the figures are the use cases' own cost without HTTP or I/O.
type benchEnv struct {
	issue      *application.IssueToken
	introspect *application.Introspect
	auth       *application.AuthenticateClient
	opaque     string
}

func newBenchEnv(b *testing.B, cache bool) *benchEnv {
	b.Helper()
	clock := fakes.NewClock(time.Now())
	clients, tokens := fakes.NewClients(), fakes.NewTokens(clock)
	hasher := secrethash.NewHasher(secrethash.DefaultParams)
	ring := &application.KeyRing{}
	k, err := (&fakes.KeyGenerator{}).GenerateSigningKey(domain.RS256)
	if err != nil {
		b.Fatal(err)
	}
	k.State = domain.KeyActive
	ring.Set([]domain.SigningKey{k})
	seed := application.NewSeedDemoClients(clients, hasher)
	if _, err := seed.Handle(b.Context()); err != nil {
		b.Fatal(err)
	}
	auth, err := application.NewAuthenticateClient(clients, hasher, clock, application.AssertionSupport{})
	if err != nil {
		b.Fatal(err)
	}
	if cache {
		auth.RememberVerified(time.Hour, 1000)
	}
	e := &benchEnv{
		auth:  auth,
		issue: application.NewIssueToken(auth, ring, fakes.Signer{}, tokens, clock, rand.Reader, issuer),
		introspect: application.NewIntrospect(auth, tokens, fakes.Verifier{Keys: ring, Clock: clock},
			fakes.NewExpiring(clock), clock, ring, fakes.IntrospectionSigner{}, issuer),
	}
	res, err := e.issue.Handle(b.Context(), application.IssueTokenInput{
		Credentials: basic("user-client-opaque", "user-client-secret"), GrantType: "client_credentials",
	})
	if err != nil {
		b.Fatal(err)
	}
	e.opaque = res.AccessToken
	return e
}

// BenchmarkAuthenticateClient compares a secret checked by argon2id every
// time with one remembered by the verified-credential cache.
func BenchmarkAuthenticateClient(b *testing.B) {
	for _, tc := range []struct {
		name  string
		cache bool
	}{{"argon2id", false}, {"verified-cache", true}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newBenchEnv(b, tc.cache)
			in := basic("service-client-jwt", "service-client-jwt-secret")
			// The first check pays the slow hash either way; measure the rest.
			if _, err := e.auth.Handle(b.Context(), in); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.auth.Handle(b.Context(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkIssueToken(b *testing.B) {
	e := newBenchEnv(b, true)
	for _, client := range [][2]string{{"service-client-jwt", "service-client-jwt-secret"}, {"user-client-opaque", "user-client-secret"}} {
		b.Run(client[0], func(b *testing.B) {
			in := application.IssueTokenInput{Credentials: basic(client[0], client[1]), GrantType: "client_credentials", Scope: "country.read"}
			if _, err := e.issue.Handle(b.Context(), in); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.issue.Handle(b.Context(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkIntrospect(b *testing.B) {
	e := newBenchEnv(b, true)
	in := application.IntrospectInput{Credentials: basic("service-client-jwt", "service-client-jwt-secret"), Token: e.opaque}
	b.ReportAllocs()
	for b.Loop() {
		res, err := e.introspect.Handle(b.Context(), in)
		if err != nil || !res.Active {
			b.Fatalf("%+v %v", res, err)
		}
	}
}

// BenchmarkAuthorizeBearer is the resource role's check of a token it has
// seen before: answered from the token cache, plus the revocation set.
func BenchmarkAuthorizeBearer(b *testing.B) {
	clock := fakes.NewClock(time.Now())
	tok := domain.Token{ID: "j", KeyID: "k1", Scopes: domain.NewScopes("country.read"), ExpiresAt: clock.Now().Add(time.Hour)}
	inner := &countingVerifier{token: tok}
	authorize := application.NewAuthorizeBearer(application.NewCachedVerifier(inner, fakes.NewTrustedKeys("k1"), clock, 1000),
		application.NewCachedIntrospector(inner, clock, time.Minute, 1000), application.NewRevocationSet(clock), "")
	for _, raw := range []string{"eyJ.payload.signature", "opaque-token-value"} {
		b.Run(map[bool]string{true: "jwt", false: "opaque"}[application.LooksLikeJWT(raw)], func(b *testing.B) {
			in := application.AuthorizeBearerInput{Token: raw, Required: domain.NewScopes("country.read")}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := authorize.Handle(b.Context(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuthorizeBearerWithClientRevocations is BenchmarkAuthorizeBearer
// on a node that knows of 1,000 clients revoked as a whole, the token's
// own among them (revoked before the token was issued): the lookup on
// every request is then a real one.
func BenchmarkAuthorizeBearerWithClientRevocations(b *testing.B) {
	clock := fakes.NewClock(time.Now())
	tok := domain.Token{ID: "j", KeyID: "k1", ClientID: "c-500", Scopes: domain.NewScopes("country.read"),
		IssuedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}
	inner := &countingVerifier{token: tok}
	revoked := application.NewRevocationSet(clock)
	for i := range 1000 {
		revoked.Apply(domain.Event{Kind: domain.EventClientTokensRevoked, ClientID: fmt.Sprintf("c-%d", i), IssuedBefore: clock.Now().Add(-time.Hour)})
	}
	authorize := application.NewAuthorizeBearer(application.NewCachedVerifier(inner, fakes.NewTrustedKeys("k1"), clock, 1000),
		application.NewCachedIntrospector(inner, clock, time.Minute, 1000), revoked, "")
	in := application.AuthorizeBearerInput{Token: "eyJ.payload.signature", Required: domain.NewScopes("country.read")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := authorize.Handle(b.Context(), in); err != nil {
			b.Fatal(err)
		}
	}
}
