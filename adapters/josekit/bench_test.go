package josekit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// BenchmarkSignAccessToken measures the token endpoint's signing: the
// claims, the JWS and the signature, with a key of the standard library.
func BenchmarkSignAccessToken(b *testing.B) {
	for _, alg := range domain.SigningAlgorithms {
		b.Run(string(alg), func(b *testing.B) { benchmarkSignAccessToken(b, keyFor(b, alg)) })
	}
}

// BenchmarkSignAccessTokenCryptoSigner measures the same with the key
// behind crypto.Signer, as an HSM or a KMS hands it over: the path through
// go-jose, without the device's own latency.
func BenchmarkSignAccessTokenCryptoSigner(b *testing.B) {
	for _, alg := range domain.SigningAlgorithms {
		b.Run(string(alg), func(b *testing.B) {
			key := keyFor(b, alg)
			key.Private = &hsmKey{key: key.Private}
			benchmarkSignAccessToken(b, key)
		})
	}
}

func benchmarkSignAccessToken(b *testing.B, key domain.SigningKey) {
	s := josekit.NewSigner()
	tok := token()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SignAccessToken(ctx, key, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyAccessToken(b *testing.B) {
	for _, alg := range domain.SigningAlgorithms {
		b.Run(string(alg), func(b *testing.B) {
			key := keyFor(b, alg)
			raw := sign(b, key, token())
			v := josekit.NewVerifier(ring(key), josekit.VerifierOptions{
				Issuer: issuer, Clock: fakes.NewClock(epoch), Algorithms: []domain.Algorithm{alg},
			})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.VerifyAccessToken(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSignIntrospection(b *testing.B) {
	key := keyFor(b, domain.ES256)
	s := josekit.NewIntrospectionSigner()
	r := introspectionOf(true)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SignIntrospection(ctx, key, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyClientAssertion(b *testing.B) {
	for _, alg := range append(slices.Clone(domain.SigningAlgorithms), "HS256") {
		b.Run(string(alg), func(b *testing.B) {
			var (
				raw     string
				c       = domain.Client{ID: clientID}
				secrets [][]byte
			)
			if alg == "HS256" {
				raw = signAssertion(b, "HS256", []byte(secret32), "", "", assertionClaims())
				secrets = [][]byte{[]byte(secret32)}
			} else {
				key := keyFor(b, alg)
				raw = signWith(b, key, assertionClaims())
				c = inlineClient(b, key)
			}
			a := newAssertions(fakes.NewClock(epoch), nil)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := a.VerifyClientAssertion(ctx, c, secrets, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCachedJWTCheck measures the resource server's check of a JWT it
// has verified before: the token cache over a Verifier over the JWKS
// client, with the question whether the token's key is still published
// asked on every hit, as the resource role wires them.
func BenchmarkCachedJWTCheck(b *testing.B) {
	key := rsaKey(b, 0)
	doc, err := josekit.NewKeySetEncoder().EncodeJWKS([]domain.SigningKey{key})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(doc) }))
	defer srv.Close()
	clock := fakes.NewClock(epoch)
	keys := josekit.NewRemoteKeySet(srv.URL, srv.Client(), josekit.RemoteKeySetOptions{Clock: clock})
	v := application.NewCachedVerifier(josekit.NewVerifier(keys, josekit.VerifierOptions{Issuer: issuer, Clock: clock}), keys, clock, 1000)
	raw, err := josekit.NewSigner().SignAccessToken(context.Background(), key, token())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.VerifyAccessToken(ctx, raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.VerifyAccessToken(ctx, raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkTrustsKey measures what the key check adds to each cached
// answer: an atomic load and a map lookup, from many goroutines at once.
func BenchmarkTrustsKey(b *testing.B) {
	key := rsaKey(b, 0)
	doc, err := josekit.NewKeySetEncoder().EncodeJWKS([]domain.SigningKey{key, rsaKey(b, 1)})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(doc) }))
	defer srv.Close()
	keys := josekit.NewRemoteKeySet(srv.URL, srv.Client(), josekit.RemoteKeySetOptions{})
	if err := keys.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !keys.TrustsKey(key.ID) {
				b.Error("key not trusted")
				return
			}
		}
	})
}
