package josekit_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

func newVerifier(keys application.VerificationKeys, leeway time.Duration) *josekit.Verifier {
	return josekit.NewVerifier(keys, josekit.VerifierOptions{
		Issuer: issuer,
		Leeway: leeway,
		Clock:  fakes.NewClock(epoch),
	})
}

func sign(t testing.TB, key domain.SigningKey, tok domain.Token) string {
	t.Helper()
	raw, err := josekit.NewSigner().SignAccessToken(context.Background(), key, tok)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return raw
}

func TestSignVerifyRoundTrip(t *testing.T) {
	key := rsaKey(t, 0)
	want := token()
	raw := sign(t, key, want)

	got, err := newVerifier(ring(key), 0).VerifyAccessToken(context.Background(), raw)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	want.Value = raw
	if got.Value != want.Value || got.Format != want.Format || got.ID != want.ID ||
		got.Issuer != want.Issuer || got.Subject != want.Subject || got.ClientID != want.ClientID ||
		!slices.Equal(got.Scopes, want.Scopes) || !slices.Equal(got.Audience, want.Audience) ||
		!got.IssuedAt.Equal(want.IssuedAt) || !got.NotBefore.Equal(want.NotBefore) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("round trip:\n got  %+v\n want %+v", got, want)
	}
	// The resource server's cache ties the verification to this key.
	if got.KeyID != key.ID {
		t.Errorf("KeyID %q, want the signing key's kid %q", got.KeyID, key.ID)
	}
}

func TestSignerWritesRFC9068Header(t *testing.T) {
	key := rsaKey(t, 0)
	h, _ := segments(t, sign(t, key, token()))
	want := map[string]any{"alg": "RS256", "kid": key.ID, "typ": "at+jwt"}
	if !maps.Equal(h, want) {
		t.Errorf("header = %v, want %v", h, want)
	}
}

func TestSignerWritesRFC9068Claims(t *testing.T) {
	_, c := segments(t, sign(t, rsaKey(t, 0), token()))
	want := map[string]any{
		"iss":       issuer,
		"sub":       "service-client-jwt",
		"aud":       "service-client-jwt",
		"exp":       float64(epoch.Add(time.Hour).Unix()),
		"iat":       float64(epoch.Unix()),
		"nbf":       float64(epoch.Unix()),
		"jti":       "6c1e6f3a-1b0e-4f55-9d4b-0e6ad7c7b8a1",
		"client_id": "service-client-jwt",
		"scope":     "country.read customer.read customer.write",
	}
	if !maps.Equal(c, want) {
		t.Errorf("claims = %v\nwant %v", c, want)
	}
}

func TestAudienceIsStringForOneAndArrayForSeveral(t *testing.T) {
	key := rsaKey(t, 0)
	v := newVerifier(ring(key), 0)
	for _, tc := range []struct {
		aud  []string
		want any
	}{
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, []any{"a", "b"}},
	} {
		tok := token()
		tok.Audience = tc.aud
		raw := sign(t, key, tok)
		_, c := segments(t, raw)
		if s, ok := tc.want.(string); ok {
			if c["aud"] != s {
				t.Errorf("aud for %v = %#v, want %q", tc.aud, c["aud"], s)
			}
		} else if l, ok := c["aud"].([]any); !ok || !slices.Equal(l, tc.want.([]any)) {
			t.Errorf("aud for %v = %#v, want %#v", tc.aud, c["aud"], tc.want)
		}
		got, err := v.VerifyAccessToken(context.Background(), raw)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if !slices.Equal(got.Audience, tc.aud) {
			t.Errorf("verified audience = %v, want %v", got.Audience, tc.aud)
		}
	}
}

func TestVerifierAcceptsWithinLeeway(t *testing.T) {
	key := rsaKey(t, 0)
	priv := rsaPrivate(key)
	v := newVerifier(ring(key), time.Minute)

	expired := claims()
	expired["exp"] = epoch.Add(-30 * time.Second).Unix()
	early := claims()
	early["nbf"] = epoch.Add(30 * time.Second).Unix()
	mixedCase := header(key.ID)
	mixedCase["typ"] = "application/AT+JWT"

	for name, raw := range map[string]string{
		"expired 30s ago": forge(t, priv, header(key.ID), expired),
		"valid in 30s":    forge(t, priv, header(key.ID), early),
		"typ with its media type prefix, mixed case": forge(t, priv, mixedCase, claims()),
		"fractional exp":                forge(t, priv, header(key.ID), withClaim("exp", float64(epoch.Unix())+3600.5)),
		"scope as array (Spring style)": forge(t, priv, header(key.ID), withClaim("scope", []string{"b", "a"})),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := v.VerifyAccessToken(context.Background(), raw)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if got.ClientID != "service-client-jwt" {
				t.Errorf("client id = %q", got.ClientID)
			}
		})
	}
	got, _ := v.VerifyAccessToken(context.Background(), forge(t, priv, header(key.ID), withClaim("scope", []string{"b", "a"})))
	if !slices.Equal(got.Scopes, domain.Scopes{"a", "b"}) {
		t.Errorf("scopes from array = %v", got.Scopes)
	}
}

func withClaim(name string, value any) map[string]any {
	c := claims()
	c[name] = value
	return c
}

func withoutClaim(name string) map[string]any {
	c := claims()
	delete(c, name)
	return c
}

func TestVerifierRejectsBadTokens(t *testing.T) {
	key, other := rsaKey(t, 0), rsaKey(t, 1)
	priv := rsaPrivate(key)
	good := sign(t, key, token())
	parts := strings.Split(good, ".")

	// The classic confusion: HS256 keyed with the RSA public key's bytes,
	// as a verifier that lets the token pick the algorithm would check it.
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hsHeader := header(key.ID)
	hsHeader["alg"] = "HS256"

	noneHeader := header(key.ID)
	noneHeader["alg"] = "none"
	noTyp := header(key.ID)
	delete(noTyp, "typ")
	jwtTyp := header(key.ID)
	jwtTyp["typ"] = "JWT"
	noKid := header(key.ID)
	delete(noKid, "kid")

	tamperedClaims := claims()
	tamperedClaims["scope"] = "country.read admin"

	// key is published under a second kid claiming RS512: the token says
	// RS256, the key says otherwise.
	mismatched := key
	mismatched.ID = "mismatched"
	mismatched.Algorithm = "RS512"

	cases := []struct {
		name, raw, reason string
	}{
		{"tampered payload", parts[0] + "." + b64JSON(t, tamperedClaims) + "." + parts[2], "bad signature"},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flipLastChar(parts[2]), "bad signature"},
		{"signed by another key", forge(t, rsaPrivate(other), header(key.ID), claims()), "bad signature"},
		{"wrong issuer", forge(t, priv, header(key.ID), withClaim("iss", issuer+"/")), "wrong issuer"},
		{"no issuer", forge(t, priv, header(key.ID), withoutClaim("iss")), "wrong issuer"},
		{"expired beyond leeway", forge(t, priv, header(key.ID), withClaim("exp", epoch.Add(-2*time.Minute).Unix())), "token has expired"},
		{"expiring exactly at leeway edge", forge(t, priv, header(key.ID), withClaim("exp", epoch.Add(-time.Minute).Unix())), "token has expired"},
		{"not yet valid beyond leeway", forge(t, priv, header(key.ID), withClaim("nbf", epoch.Add(2*time.Minute).Unix())), "token is not yet valid"},
		{"no exp", forge(t, priv, header(key.ID), withoutClaim("exp")), "token has no exp"},
		{"exp not a number", forge(t, priv, header(key.ID), withClaim("exp", "tomorrow")), "malformed claims"},
		{"aud a number", forge(t, priv, header(key.ID), withClaim("aud", 7)), "malformed claims"},
		{"bad scope", forge(t, priv, header(key.ID), withClaim("scope", "a\\b")), "malformed scope claim"},
		{"missing typ", forge(t, priv, noTyp, claims()), "token is not a JWT access token"},
		{"typ JWT (an ID token, say)", forge(t, priv, jwtTyp, claims()), "token is not a JWT access token"},
		{"missing kid", forge(t, priv, noKid, claims()), "token has no kid"},
		{"unknown kid", forge(t, priv, header("no-such-kid"), claims()), "unknown signing key"},
		{"key published for another alg", forge(t, priv, header("mismatched"), claims()), "token algorithm does not match its key"},
		{"alg none", b64JSON(t, noneHeader) + "." + b64JSON(t, claims()) + ".", "signing algorithm not allowed"},
		{"HS256 keyed with the PEM public key", forgeHS256(t, pemBytes, hsHeader, claims()), "signing algorithm not allowed"},
		{"HS256 keyed with the DER public key", forgeHS256(t, der, hsHeader, claims()), "signing algorithm not allowed"},
		{"empty", "", "token is empty"},
		{"two parts", "a.b", "malformed token"},
		{"four parts", good + ".x", "malformed token"},
		{"garbage base64", "!!!.@@@.###", "malformed token"},
		{"header not JSON", b64([]byte("hello")) + "." + parts[1] + "." + parts[2], "malformed token"},
		{"payload not JSON", parts[0] + "." + b64([]byte("not json")) + "." + parts[2], "bad signature"},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, "malformed token"},
		{"huge", strings.Repeat("a", 40<<10) + ".b.c", "token is too large"},
	}
	v := newVerifier(ring(key, mismatched), time.Minute)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.VerifyAccessToken(context.Background(), tc.raw)
			assertInvalid(t, err, tc.reason)
		})
	}
}

// The claims must come from the signed payload: a payload that fails to
// parse after a good signature is malformed, not a crash.
func TestVerifierRejectsSignedGarbageClaims(t *testing.T) {
	key := rsaKey(t, 0)
	raw := forge(t, rsaPrivate(key), header(key.ID), []string{"not", "an", "object"})
	_, err := newVerifier(ring(key), 0).VerifyAccessToken(context.Background(), raw)
	assertInvalid(t, err, "malformed claims")
}

func assertInvalid(t *testing.T, err error, reason string) {
	t.Helper()
	if !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("err = %v, want invalid_token", err)
	}
	var e *domain.Error
	if !errors.As(err, &e) || e.Description != reason {
		t.Errorf("reason = %q, want %q", e.Description, reason)
	}
	if strings.Contains(strings.ToLower(err.Error()), "jose") {
		t.Errorf("library text leaked: %v", err)
	}
}

func flipLastChar(s string) string {
	// Change a character that carries signature bits, not padding bits.
	b := []byte(s)
	i := len(b) - 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestNewVerifierRefusesDangerousAlgorithms(t *testing.T) {
	for _, algs := range [][]domain.Algorithm{
		{"none"},
		{"HS256"},
		{domain.RS256, "HS512"},
		{"rs256"},
		{"XX999"},
	} {
		opts := josekit.VerifierOptions{Issuer: issuer, Algorithms: algs}
		if err := opts.Validate(); err == nil {
			t.Errorf("Validate(%v) = nil, want an error", algs)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewVerifier(%v) did not refuse", algs)
				}
			}()
			josekit.NewVerifier(ring(), opts)
		}()
	}
	if err := (josekit.VerifierOptions{}).Validate(); err == nil {
		t.Error("Validate accepted an empty issuer")
	}
	if err := (josekit.VerifierOptions{Issuer: issuer, Algorithms: []domain.Algorithm{"RS256", "ES256"}}).Validate(); err != nil {
		t.Errorf("Validate(RS256, ES256) = %v", err)
	}
}

func TestVerifierHonoursAllowList(t *testing.T) {
	g := josekit.NewKeyGenerator(0)
	ec, err := g.GenerateSigningKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	ec.State = domain.KeyActive
	raw := sign(t, ec, token())
	keys := ring(ec)

	onlyRS := newVerifier(keys, 0)
	_, err = onlyRS.VerifyAccessToken(context.Background(), raw)
	assertInvalid(t, err, "signing algorithm not allowed")

	both := josekit.NewVerifier(keys, josekit.VerifierOptions{
		Issuer: issuer, Clock: fakes.NewClock(epoch), Algorithms: []domain.Algorithm{domain.RS256, "ES256"},
	})
	if _, err := both.VerifyAccessToken(context.Background(), raw); err != nil {
		t.Errorf("ES256 with ES256 allowed: %v", err)
	}
}

type keysFunc func(ctx context.Context, kid string) (crypto.PublicKey, domain.Algorithm, error)

func (f keysFunc) VerificationKey(ctx context.Context, kid string) (pub crypto.PublicKey, alg domain.Algorithm, err error) {
	return f(ctx, kid)
}

func TestVerifierPassesKeySourceFailuresThrough(t *testing.T) {
	key := rsaKey(t, 0)
	raw := sign(t, key, token())

	down := fmt.Errorf("fetch jwks: %w", domain.ErrTemporarilyUnavailable)
	v := newVerifier(keysFunc(func(context.Context, string) (crypto.PublicKey, domain.Algorithm, error) { return nil, "", down }), 0)
	_, err := v.VerifyAccessToken(context.Background(), raw)
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) || errors.Is(err, domain.ErrInvalidToken) {
		t.Errorf("key source down: err = %v, want temporarily unavailable", err)
	}

	boom := errors.New("disk on fire")
	v = newVerifier(keysFunc(func(context.Context, string) (crypto.PublicKey, domain.Algorithm, error) { return nil, "", boom }), 0)
	_, err = v.VerifyAccessToken(context.Background(), raw)
	if !errors.Is(err, boom) || errors.Is(err, domain.ErrInvalidToken) {
		t.Errorf("key source error: err = %v, want it wrapped and not invalid_token", err)
	}

	// A key unfit for its own algorithm is our fault, not the token's.
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	v = newVerifier(keysFunc(func(context.Context, string) (crypto.PublicKey, domain.Algorithm, error) {
		return ecPriv.Public(), domain.RS256, nil
	}), 0)
	_, err = v.VerifyAccessToken(context.Background(), raw)
	if err == nil || errors.Is(err, domain.ErrInvalidToken) {
		t.Errorf("misfit key: err = %v, want a server-side error", err)
	}
}

func TestSignerRebuildsWhenAKidChangesKey(t *testing.T) {
	a, b := rsaKey(t, 0), rsaKey(t, 1)
	b.ID = a.ID // same kid, another key
	s := josekit.NewSigner()
	if _, err := s.SignAccessToken(context.Background(), a, token()); err != nil {
		t.Fatal(err)
	}
	raw, err := s.SignAccessToken(context.Background(), b, token())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newVerifier(ring(b), 0).VerifyAccessToken(context.Background(), raw); err != nil {
		t.Errorf("token signed after the kid changed key does not verify with the new key: %v", err)
	}
}

func TestSignerIsSafeForConcurrentUse(t *testing.T) {
	key := rsaKey(t, 0)
	s := josekit.NewSigner()
	v := newVerifier(ring(key), 0)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			raw, err := s.SignAccessToken(context.Background(), key, token())
			if err == nil {
				_, err = v.VerifyAccessToken(context.Background(), raw)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestSignerRefusesUnfitKeys(t *testing.T) {
	key := rsaKey(t, 0)
	for name, k := range map[string]domain.SigningKey{
		"unknown algorithm": {ID: "x", Algorithm: "HS256", Private: key.Private},
		"RSA key as ES256":  {ID: "y", Algorithm: "ES256", Private: key.Private},
		"no key":            {ID: "z", Algorithm: domain.RS256},
	} {
		if _, err := josekit.NewSigner().SignAccessToken(context.Background(), k, token()); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	noExp := token()
	noExp.ExpiresAt = time.Time{}
	if _, err := josekit.NewSigner().SignAccessToken(context.Background(), key, noExp); err == nil {
		t.Error("signed a token without expiry")
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestKeyGenerator(t *testing.T) {
	key := rsaKey(t, 0)
	if bits := rsaPrivate(key).N.BitLen(); bits != 2048 {
		t.Errorf("rsa key has %d bits, want 2048", bits)
	}
	if key.Algorithm != domain.RS256 || !uuidV4.MatchString(key.ID) {
		t.Errorf("key = alg %q kid %q, want RS256 and a UUID", key.Algorithm, key.ID)
	}
	if key.ID == rsaKey(t, 1).ID {
		t.Error("two keys share a kid")
	}
	g := josekit.NewKeyGenerator(0)
	if _, err := g.GenerateSigningKey("HS256"); err == nil {
		t.Error("generated an HS256 key")
	}
	if _, err := g.GenerateSigningKey("none"); err == nil {
		t.Error("generated a none key")
	}
	if _, err := josekit.NewKeyGenerator(1024).GenerateSigningKey(domain.RS256); err == nil {
		t.Error("generated a 1024-bit RSA key")
	}
}
