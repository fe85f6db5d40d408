package josekit_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// TestEachAlgorithmRoundTrips signs with each algorithm Sigil may sign
// with, publishes the key, fetches it as a resource server would and
// verifies the token with it.
func TestEachAlgorithmRoundTrips(t *testing.T) {
	for _, alg := range append(slices.Clone(domain.SigningAlgorithms), "RS512", "PS384", "ES384", "ES512") {
		t.Run(string(alg), func(t *testing.T) {
			key := keyFor(t, alg)
			raw := sign(t, key, token())
			if h, _ := segments(t, raw); h["alg"] != string(alg) || h["kid"] != key.ID || h["typ"] != "at+jwt" {
				t.Errorf("header = %v", h)
			}
			s := newJWKSServer(t, key)
			remote := newRemote(s, fakes.NewClock(epoch), nil)
			v := josekit.NewVerifier(remote, josekit.VerifierOptions{
				Issuer: issuer, Clock: fakes.NewClock(epoch), Algorithms: []domain.Algorithm{alg},
			})
			got, err := v.VerifyAccessToken(context.Background(), raw)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if got.ClientID != "service-client-jwt" || !got.ExpiresAt.Equal(epoch.Add(3600e9)) {
				t.Errorf("verified token = %+v", got)
			}
			if alg != domain.RS256 {
				// The default allow-list is RS256 alone.
				_, err := newVerifier(remote, 0).VerifyAccessToken(context.Background(), raw)
				assertInvalid(t, err, "signing algorithm not allowed")
			}
			// Another key of the same algorithm cannot stand in.
			other := keyFor(t, alg)
			other.Private = regenerate(t, alg).Private
			_, err = v.VerifyAccessToken(context.Background(), sign(t, other, token()))
			assertInvalid(t, err, "bad signature")
		})
	}
}

// regenerate makes another key of alg; for RSA the other shared key.
func regenerate(t *testing.T, alg domain.Algorithm) domain.SigningKey {
	t.Helper()
	mine := keyFor(t, alg).Public().(interface{ Equal(crypto.PublicKey) bool })
	if strings.HasPrefix(string(alg), "RS") || strings.HasPrefix(string(alg), "PS") {
		for i := range 2 {
			if k := rsaKey(t, i); !mine.Equal(k.Public()) {
				return k
			}
		}
	}
	k, err := josekit.NewKeyGenerator(0).GenerateSigningKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeySetEncoderMembersPerKeyType(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	for alg, want := range map[domain.Algorithm]func(*testing.T, domain.SigningKey) map[string]string{
		domain.RS256: nil, // covered member by member in TestKeySetEncoderHasExactlyThePublicMembers
		domain.PS256: nil,
		domain.ES256: func(t *testing.T, k domain.SigningKey) map[string]string {
			// The uncompressed point is 0x04 || x || y; RFC 7518 §6.2.1.2
			// wants x and y as the full 32 bytes each for P-256.
			point, err := k.Public().(*ecdsa.PublicKey).Bytes()
			if err != nil || len(point) != 65 {
				t.Fatalf("P-256 point: %d bytes, %v", len(point), err)
			}
			x, y := point[1:33], point[33:]
			return map[string]string{"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y), "kid": k.ID, "use": "sig", "alg": "ES256"}
		},
		domain.EdDSA: func(_ *testing.T, k domain.SigningKey) map[string]string {
			// RFC 8037 §2: kty OKP, crv Ed25519, x the raw public key.
			return map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(k.Public().(ed25519.PublicKey)), "kid": k.ID, "use": "sig", "alg": "EdDSA"}
		},
	} {
		t.Run(string(alg), func(t *testing.T) {
			k := keyFor(t, alg)
			doc, err := josekit.NewKeySetEncoder().EncodeJWKS([]domain.SigningKey{k})
			if err != nil {
				t.Fatal(err)
			}
			var set struct{ Keys []map[string]string }
			if err := json.Unmarshal(doc, &set); err != nil || len(set.Keys) != 1 {
				t.Fatalf("jwks %s: %v", doc, err)
			}
			got := set.Keys[0]
			if want == nil {
				members := slices.Sorted(maps.Keys(got))
				if !slices.Equal(members, []string{"alg", "e", "kid", "kty", "n", "use"}) || got["alg"] != string(alg) {
					t.Errorf("RSA key = %v", got)
				}
				return
			}
			if w := want(t, k); !maps.Equal(got, w) {
				t.Errorf("jwk =\n %v\nwant\n %v", got, w)
			}
		})
	}
}

func TestKeyGeneratorMakesEachAlgorithmsKey(t *testing.T) {
	g := josekit.NewKeyGenerator(0)
	es, err := g.GenerateSigningKey(domain.ES256)
	if err != nil {
		t.Fatal(err)
	}
	if pub, ok := es.Public().(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("ES256 key is %T, want a P-256 key", es.Public())
	}
	ed, err := g.GenerateSigningKey(domain.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ed.Private.(ed25519.PrivateKey); !ok {
		t.Errorf("EdDSA key is %T, want ed25519.PrivateKey", ed.Private)
	}
	for _, k := range []domain.SigningKey{es, ed} {
		if !uuidV4.MatchString(k.ID) {
			t.Errorf("kid %q is not a UUID", k.ID)
		}
	}
	if es.ID == ed.ID {
		t.Error("two keys share a kid")
	}
	if _, err := g.GenerateSigningKey("Ed448"); err == nil {
		t.Error("generated an Ed448 key")
	}
}

func TestRemoteKeySetReadsOKPKeys(t *testing.T) {
	ed := keyFor(t, domain.EdDSA)
	jwk := jwkOf(t, ed)
	keys := []any{
		edit(jwk, map[string]any{"kid": "ed-eddsa"}),
		edit(jwk, map[string]any{"kid": "ed-bare", "alg": nil, "use": nil}),
		edit(jwk, map[string]any{"kid": "ed-as-es256", "alg": "ES256"}),
		edit(jwk, map[string]any{"kid": "ed-wrong-crv", "crv": "X25519"}),
		// A low-order point: one signature would verify for many messages.
		edit(jwk, map[string]any{"kid": "ed-low-order", "x": base64.RawURLEncoding.EncodeToString(make([]byte, 32))}),
		edit(jwk, map[string]any{"kid": "ed-short", "x": "AAAA"}),
		edit(jwk, map[string]any{"kid": "ed-private", "d": "AAAA"}),
	}
	body, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	s := newJWKSServer(t)
	s.setBody(body)
	r := newRemote(s, fakes.NewClock(epoch), nil)
	for _, kid := range []string{"ed-eddsa", "ed-bare"} {
		pub, alg, err := r.VerificationKey(context.Background(), kid)
		if err != nil || alg != domain.EdDSA || !ed.Public().(ed25519.PublicKey).Equal(pub) {
			t.Errorf("%s: %T %q %v, want the Ed25519 key as EdDSA", kid, pub, alg, err)
		}
	}
	for _, kid := range []string{"ed-as-es256", "ed-wrong-crv", "ed-low-order", "ed-short", "ed-private"} {
		if _, _, err := r.VerificationKey(context.Background(), kid); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("%s: err = %v, want skipped", kid, err)
		}
	}
	assertHits(t, s, 1)
}

func TestVerifierRefusesAnEdDSATokenClaimingAnotherAlgorithmsKey(t *testing.T) {
	// The key decides the algorithm: an EdDSA token whose kid names an
	// ES256 key fails before any signature check.
	ed, es := keyFor(t, domain.EdDSA), keyFor(t, domain.ES256)
	misnamed := ed
	misnamed.ID = es.ID
	raw := sign(t, misnamed, token())
	v := josekit.NewVerifier(ring(es), josekit.VerifierOptions{
		Issuer: issuer, Clock: fakes.NewClock(epoch), Algorithms: []domain.Algorithm{domain.ES256, domain.EdDSA},
	})
	_, err := v.VerifyAccessToken(context.Background(), raw)
	assertInvalid(t, err, "token algorithm does not match its key")
}

func TestClientAssertionAlgorithmsNeverListNone(t *testing.T) {
	algs := josekit.ClientAssertionAlgorithms()
	for _, want := range []string{"RS256", "PS256", "ES256", "EdDSA", "HS256", "HS512"} {
		if !slices.Contains(algs, want) {
			t.Errorf("%v lacks %s", algs, want)
		}
	}
	if slices.Contains(algs, "none") || !slices.IsSorted(algs) {
		t.Errorf("%v: want sorted and without none", algs)
	}
}

// The secret lengths the registration reports agree with what the
// verifier accepts: each algorithm from its hash size, none below 32.
func TestHMACAlgorithmsFor(t *testing.T) {
	for n, want := range map[int]string{
		31: "", 32: "HS256", 47: "HS256", 48: "HS256 HS384", 63: "HS256 HS384", 64: "HS256 HS384 HS512", 100: "HS256 HS384 HS512",
	} {
		if got := strings.Join(josekit.HMACAlgorithmsFor(n), " "); got != want {
			t.Errorf("HMACAlgorithmsFor(%d) = %q, want %q", n, got, want)
		}
	}
	for alg, want := range map[string]int{"HS256": 32, "HS384": 48, "HS512": 64, "RS256": 0} {
		if got := josekit.HMACMinSecret(alg); got != want {
			t.Errorf("HMACMinSecret(%s) = %d, want %d", alg, got, want)
		}
	}
}
