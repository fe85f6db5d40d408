package josekit_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

const (
	clientID   = "svc-a"
	tokenURL   = issuer + "/oauth2/token"
	secret32   = "0123456789abcdef0123456789abcdef"
	otherSec32 = "fedcba9876543210fedcba9876543210"
)

// assertionClaims are valid RFC 7523 claims from clientID.
func assertionClaims() map[string]any {
	return map[string]any{
		"iss": clientID,
		"sub": clientID,
		"aud": tokenURL,
		"jti": "a-1",
		"iat": epoch.Unix(),
		"exp": epoch.Add(5 * time.Minute).Unix(),
	}
}

// signAssertion signs claims as a client library would: with go-jose,
// kid in the header if not empty, typ only if given.
func signAssertion(t testing.TB, alg string, key any, kid, typ string, claims any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	if kid != "" {
		key = jose.JSONWebKey{Key: key, KeyID: kid}
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: key}, opts)
	if err != nil {
		t.Fatalf("signer %s: %v", alg, err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// signWith signs an assertion with a Sigil signing key under its kid.
func signWith(t testing.TB, k domain.SigningKey, claims any) string {
	t.Helper()
	return signAssertion(t, string(k.Algorithm), k.Private, k.ID, "", claims)
}

func jwksOf(t testing.TB, keys ...domain.SigningKey) string {
	t.Helper()
	doc, err := josekit.NewKeySetEncoder().EncodeJWKS(keys)
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

func jwksJSON(t testing.TB, keys ...any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newAssertions(clock *fakes.Clock, s *jwksServer) *josekit.ClientAssertions {
	opts := josekit.ClientAssertionOptions{
		MinRefreshInterval: minRefresh,
		MaxAge:             maxAge,
		Clock:              clock,
		Logger:             slog.New(slog.DiscardHandler),
	}
	if s != nil {
		opts.HTTPClient = s.Client()
	}
	return josekit.NewClientAssertions(opts)
}

func inlineClient(t testing.TB, keys ...domain.SigningKey) domain.Client {
	return domain.Client{ID: clientID, AuthMethods: []domain.AuthMethod{domain.AuthPrivateKeyJWT}, JWKS: jwksOf(t, keys...)}
}

// assertRefused checks err is invalid_client with the reason.
func assertRefused(t *testing.T, err error, reason string) {
	t.Helper()
	var e *domain.Error
	if !errors.As(err, &e) || !errors.Is(err, domain.ErrInvalidClient) {
		t.Fatalf("err = %v, want invalid_client %q", err, reason)
	}
	if e.Description != reason {
		t.Fatalf("reason = %q, want %q", e.Description, reason)
	}
}

// assertionAlgs are the asymmetric algorithms tested end to end.
var assertionAlgs = []domain.Algorithm{domain.RS256, domain.PS256, domain.ES256, domain.EdDSA, "RS384", "PS512", "ES384"}

func TestPrivateKeyJWTWithInlineJWKS(t *testing.T) {
	for _, alg := range assertionAlgs {
		t.Run(string(alg), func(t *testing.T) {
			k := keyFor(t, alg)
			a := newAssertions(fakes.NewClock(epoch), nil)
			claims := assertionClaims()
			claims["aud"] = []string{tokenURL, issuer}
			claims["nbf"] = epoch.Unix()
			got, method, err := a.VerifyClientAssertion(context.Background(), inlineClient(t, keyFor(t, domain.RS256), k), nil, signWith(t, k, claims))
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if method != domain.AuthPrivateKeyJWT {
				t.Errorf("method = %q", method)
			}
			if got.Issuer != clientID || got.Subject != clientID || got.ID != "a-1" ||
				!slices.Equal(got.Audience, []string{tokenURL, issuer}) ||
				!got.IssuedAt.Equal(epoch) || !got.NotBefore.Equal(epoch) || !got.ExpiresAt.Equal(epoch.Add(5*time.Minute)) {
				t.Errorf("claims = %+v", got)
			}

			// Signed by another key under the same kid.
			other := k
			other.Private = regenerate(t, alg).Private
			_, _, err = a.VerifyClientAssertion(context.Background(), inlineClient(t, k), nil, signWith(t, other, assertionClaims()))
			assertRefused(t, err, "client assertion signature is invalid")
		})
	}
}

func TestPrivateKeyJWTReadsAStringAudienceAndIgnoresTyp(t *testing.T) {
	k := keyFor(t, domain.ES256)
	a := newAssertions(fakes.NewClock(epoch), nil)
	for _, typ := range []string{"", "JWT", "client-authentication+jwt"} {
		raw := signAssertion(t, "ES256", k.Private, k.ID, typ, assertionClaims())
		got, _, err := a.VerifyClientAssertion(context.Background(), inlineClient(t, k), nil, raw)
		if err != nil || !slices.Equal(got.Audience, []string{tokenURL}) {
			t.Errorf("typ %q: %+v, %v", typ, got, err)
		}
	}
}

func TestPrivateKeyJWTWithJWKSURI(t *testing.T) {
	for _, alg := range assertionAlgs {
		t.Run(string(alg), func(t *testing.T) {
			k := keyFor(t, alg)
			s := newJWKSServer(t, keyFor(t, domain.RS256), k)
			a := newAssertions(fakes.NewClock(epoch), s)
			c := domain.Client{ID: clientID, JWKSURI: s.URL + "/jwks"}
			for i := range 5 {
				claims := assertionClaims()
				claims["jti"] = fmt.Sprint(i)
				got, method, err := a.VerifyClientAssertion(context.Background(), c, nil, signWith(t, k, claims))
				if err != nil || method != domain.AuthPrivateKeyJWT || got.ID != fmt.Sprint(i) {
					t.Fatalf("verify %d: %+v %q %v", i, got, method, err)
				}
			}
			assertHits(t, s, 1)
		})
	}
}

func TestJWKSURIPicksUpAKeyAddedLaterAtMostOncePerInterval(t *testing.T) {
	old, added := keyFor(t, domain.ES256), keyFor(t, domain.EdDSA)
	s := newJWKSServer(t, old)
	clock := fakes.NewClock(epoch)
	a := newAssertions(clock, s)
	c := domain.Client{ID: clientID, JWKSURI: s.URL}
	if _, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signWith(t, old, assertionClaims())); err != nil {
		t.Fatal(err)
	}
	s.setKeys(t, old, added)
	// Within the interval an unknown kid costs no fetch.
	for range 10 {
		_, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signWith(t, added, assertionClaims()))
		assertRefused(t, err, "client assertion names an unknown key")
	}
	assertHits(t, s, 1)
	clock.Advance(minRefresh)
	if _, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signWith(t, added, assertionClaims())); err != nil {
		t.Fatalf("after the interval: %v", err)
	}
	assertHits(t, s, 2)
}

func TestJWKSURIUnreachable(t *testing.T) {
	k := keyFor(t, domain.ES256)
	s := newJWKSServer(t, k)
	s.setStatus(http.StatusBadGateway)
	a := newAssertions(fakes.NewClock(epoch), s)
	c := domain.Client{ID: clientID, JWKSURI: s.URL}
	_, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signWith(t, k, assertionClaims()))
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) || errors.Is(err, domain.ErrInvalidClient) {
		t.Fatalf("err = %v, want temporarily unavailable", err)
	}
	// Without a kid too.
	_, _, err = a.VerifyClientAssertion(context.Background(), c, nil, signAssertion(t, "ES256", k.Private, "", "", assertionClaims()))
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Fatalf("without kid: err = %v, want temporarily unavailable", err)
	}
	for _, uri := range []string{"ftp://keys.example/jwks", "/relative", "https://"} {
		_, _, err = a.VerifyClientAssertion(context.Background(), domain.Client{ID: clientID, JWKSURI: uri}, nil, signWith(t, k, assertionClaims()))
		assertRefused(t, err, "client jwks_uri is not an http(s) URL")
	}
	assertHits(t, s, 1)
}

func TestPrivateKeyJWTWithoutKid(t *testing.T) {
	rs, es := keyFor(t, domain.RS256), keyFor(t, domain.ES256)
	rsJWK, esJWK := jwkOf(t, rs), jwkOf(t, es)
	c := domain.Client{ID: clientID, JWKS: jwksJSON(t,
		edit(esJWK, map[string]any{"kid": nil}),
		edit(rsJWK, map[string]any{"kid": nil, "alg": nil}),
	)}
	a := newAssertions(fakes.NewClock(epoch), nil)
	// An RSA key published without alg serves RS256 and PS256 alike.
	for _, alg := range []string{"RS256", "PS256"} {
		if _, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signAssertion(t, alg, rs.Private, "", "", assertionClaims())); err != nil {
			t.Errorf("%s without kid: %v", alg, err)
		}
	}
	if _, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signAssertion(t, "ES256", es.Private, "", "", assertionClaims())); err != nil {
		t.Errorf("ES256 without kid: %v", err)
	}
	_, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signAssertion(t, "EdDSA", keyFor(t, domain.EdDSA).Private, "", "", assertionClaims()))
	assertRefused(t, err, "client has no key for EdDSA")
	_, _, err = a.VerifyClientAssertion(context.Background(), c, nil, signAssertion(t, "ES256", regenerate(t, domain.ES256).Private, "", "", assertionClaims()))
	assertRefused(t, err, "client assertion signature is invalid")

	// A key published as RS256 checks nothing else.
	c.JWKS = jwksOf(t, rs)
	_, _, err = a.VerifyClientAssertion(context.Background(), c, nil, signAssertion(t, "PS256", rs.Private, rs.ID, "", assertionClaims()))
	assertRefused(t, err, "client assertion algorithm does not match its key")
	_, _, err = a.VerifyClientAssertion(context.Background(), c, nil, signAssertion(t, "PS256", rs.Private, "", "", assertionClaims()))
	assertRefused(t, err, "client has no key for PS256")
}

func TestPrivateKeyJWTWithoutKidTriesAFewKeysOnly(t *testing.T) {
	k := keyFor(t, domain.ES256)
	var keys []any
	for range 9 {
		keys = append(keys, edit(jwkOf(t, regenerate(t, domain.ES256)), map[string]any{"kid": nil}))
	}
	keys = append(keys, edit(jwkOf(t, k), map[string]any{"kid": nil}))
	c := domain.Client{ID: clientID, JWKS: jwksJSON(t, keys...)}
	_, _, err := newAssertions(fakes.NewClock(epoch), nil).VerifyClientAssertion(context.Background(), c, nil, signAssertion(t, "ES256", k.Private, "", "", assertionClaims()))
	assertRefused(t, err, "client assertion needs a kid: the client has too many keys to try")
}

func TestInlineJWKSChangesAreHonoured(t *testing.T) {
	a := newAssertions(fakes.NewClock(epoch), nil)
	es, ed := keyFor(t, domain.ES256), keyFor(t, domain.EdDSA)
	c := inlineClient(t, es)
	if _, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signWith(t, es, assertionClaims())); err != nil {
		t.Fatal(err)
	}
	// The client's registration now holds another key: the parsed set
	// cached for the old text must not answer.
	c = inlineClient(t, ed)
	_, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signWith(t, es, assertionClaims()))
	assertRefused(t, err, "client assertion names an unknown key")
	if _, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signWith(t, ed, assertionClaims())); err != nil {
		t.Fatal(err)
	}
	// Another client with the same id prefix but other keys is its own.
	other := inlineClient(t, es)
	other.ID = "svc-b"
	if _, _, err := a.VerifyClientAssertion(context.Background(), other, nil, signWith(t, es, assertionClaims())); err != nil {
		t.Fatal(err)
	}
}

func TestPrivateKeyJWTRefusals(t *testing.T) {
	k := keyFor(t, domain.ES256)
	a := newAssertions(fakes.NewClock(epoch), nil)
	good := signWith(t, k, assertionClaims())
	parts := strings.Split(good, ".")
	otherClaims := assertionClaims()
	otherClaims["sub"] = "admin"

	for name, tc := range map[string]struct {
		client domain.Client
		raw    string
		reason string
	}{
		"unknown kid":        {inlineClient(t, k), signAssertion(t, "ES256", k.Private, "nope", "", assertionClaims()), "client assertion names an unknown key"},
		"tampered claims":    {inlineClient(t, k), parts[0] + "." + b64JSON(t, otherClaims) + "." + parts[2], "client assertion signature is invalid"},
		"tampered signature": {inlineClient(t, k), parts[0] + "." + parts[1] + "." + flipLastChar(parts[2]), "client assertion signature is invalid"},
		"no keys":            {domain.Client{ID: clientID}, good, "client has no public keys"},
		"jwks not a set":     {domain.Client{ID: clientID, JWKS: `{"kty":"EC"}`}, good, "client jwks is not a JWK set"},
		"jwks not JSON":      {domain.Client{ID: clientID, JWKS: `keys`}, good, "client jwks is not a JWK set"},
		"garbage claims":     {inlineClient(t, k), signWith(t, k, map[string]any{"iss": clientID, "exp": "tomorrow"}), "malformed client assertion claims"},
		"claims not JSON":    {inlineClient(t, k), signAssertion(t, "ES256", k.Private, k.ID, "", "just a string"), "malformed client assertion claims"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := a.VerifyClientAssertion(context.Background(), tc.client, nil, tc.raw)
			assertRefused(t, err, tc.reason)
		})
	}
}

func TestClientSecretJWT(t *testing.T) {
	a := newAssertions(fakes.NewClock(epoch), nil)
	c := domain.Client{ID: clientID, AuthMethods: []domain.AuthMethod{domain.AuthClientSecretJWT}}
	secrets := [][]byte{[]byte(otherSec32), []byte(secret32)}

	for alg, secret := range map[string]string{
		"HS256": secret32,
		"HS384": strings.Repeat("k", 48),
		"HS512": strings.Repeat("k", 64),
	} {
		got, method, err := a.VerifyClientAssertion(context.Background(), c, append(secrets, []byte(secret)), signAssertion(t, alg, []byte(secret), "", "", assertionClaims()))
		if err != nil || method != domain.AuthClientSecretJWT || got.Issuer != clientID || got.ID != "a-1" {
			t.Errorf("%s: %+v %q %v", alg, got, method, err)
		}
	}

	raw := signAssertion(t, "HS256", []byte("not-the-secret-not-the-secret-00"), "", "", assertionClaims())
	_, _, err := a.VerifyClientAssertion(context.Background(), c, secrets, raw)
	assertRefused(t, err, "client assertion signature is invalid")

	// A 48-byte secret is too short for HS512: skipped, whatever it says.
	short := strings.Repeat("s", 48)
	raw = forgeHMAC(t, "HS512", []byte(short), assertionClaims())
	_, _, err = a.VerifyClientAssertion(context.Background(), c, [][]byte{[]byte(short)}, raw)
	assertRefused(t, err, "client has no secret usable with HS512")
	_, _, err = a.VerifyClientAssertion(context.Background(), c, [][]byte{[]byte(short), []byte(strings.Repeat("x", 64))}, raw)
	assertRefused(t, err, "client assertion signature is invalid")
	// And the same for a 16-byte secret with HS256.
	raw = forgeHMAC(t, "HS256", []byte("sixteen-byte-key"), assertionClaims())
	_, _, err = a.VerifyClientAssertion(context.Background(), c, [][]byte{[]byte("sixteen-byte-key")}, raw)
	assertRefused(t, err, "client has no secret usable with HS256")
}

// TestHMACAssertionWithPublicKeyMaterialIsRefused is the key confusion
// attack (RFC 8725 §2.1): an HS256 assertion "signed" with what the
// client published must never verify, whatever form the key takes.
func TestHMACAssertionWithPublicKeyMaterialIsRefused(t *testing.T) {
	k := keyFor(t, domain.RS256)
	c := inlineClient(t, k)
	c.AuthMethods = []domain.AuthMethod{domain.AuthPrivateKeyJWT, domain.AuthClientSecretJWT}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public().(*rsa.PublicKey)
	a := newAssertions(fakes.NewClock(epoch), nil)
	for name, material := range map[string][]byte{
		"jwks text":      []byte(c.JWKS),
		"jwk":            []byte(jwksOf(t, k)[9 : len(jwksOf(t, k))-2]),
		"pkix der":       der,
		"pem":            pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"modulus":        pub.N.Bytes(),
		"modulus base64": []byte(jwkOf(t, k)["n"].(string)),
	} {
		for _, kid := range []string{"", k.ID} {
			raw := forgeHMACWithKid(t, "HS256", material, kid, assertionClaims())
			_, _, err := a.VerifyClientAssertion(context.Background(), c, nil, raw)
			if !errors.Is(err, domain.ErrInvalidClient) {
				t.Errorf("%s (kid %q): err = %v, want invalid_client", name, kid, err)
			}
		}
	}
}

func TestAlgNoneIsRefused(t *testing.T) {
	k := keyFor(t, domain.ES256)
	a := newAssertions(fakes.NewClock(epoch), nil)
	for _, h := range []map[string]any{
		{"alg": "none"},
		{"alg": "none", "kid": k.ID},
		{"alg": "None"},
		{"alg": "HS1"},
		{"alg": "RSA-OAEP"},
		{},
	} {
		for _, sig := range []string{"", "c2ln"} {
			raw := b64JSON(t, h) + "." + b64JSON(t, assertionClaims()) + "." + sig
			_, _, err := a.VerifyClientAssertion(context.Background(), inlineClient(t, k), [][]byte{[]byte(secret32)}, raw)
			if !errors.Is(err, domain.ErrInvalidClient) {
				t.Errorf("header %v: err = %v, want invalid_client", h, err)
			}
			if _, err := a.UnverifiedIssuer(raw); !errors.Is(err, domain.ErrInvalidClient) {
				t.Errorf("UnverifiedIssuer with header %v: err = %v, want invalid_client", h, err)
			}
		}
	}
	raw := b64JSON(t, map[string]any{"alg": "none"}) + "." + b64JSON(t, assertionClaims()) + "."
	_, _, err := a.VerifyClientAssertion(context.Background(), inlineClient(t, k), nil, raw)
	assertRefused(t, err, "client assertion signing algorithm not allowed")
}

func TestMalformedAssertions(t *testing.T) {
	a := newAssertions(fakes.NewClock(epoch), nil)
	k := keyFor(t, domain.ES256)
	good := signWith(t, k, assertionClaims())
	for name, raw := range map[string]string{
		"empty":            "",
		"one part":         "abc",
		"two parts":        "abc.def",
		"four parts":       good + ".x",
		"not base64":       "!!!.!!!.!!!",
		"header not JSON":  b64([]byte("nope")) + "." + b64JSON(t, assertionClaims()) + ".c2ln",
		"JSON serialized":  `{"payload":"e30","protected":"eyJhbGciOiJFUzI1NiJ9","signature":"c2ln"}`,
		"spaces":           " " + good,
		"oversized":        good[:strings.LastIndexByte(good, '.')] + strings.Repeat("A", 16<<10),
		"payload not JSON": b64JSON(t, map[string]any{"alg": "HS256"}) + "." + b64([]byte("iss")) + ".c2ln",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := a.UnverifiedIssuer(raw); !errors.Is(err, domain.ErrInvalidClient) {
				t.Errorf("UnverifiedIssuer: err = %v, want invalid_client", err)
			}
			if _, _, err := a.VerifyClientAssertion(context.Background(), inlineClient(t, k), nil, raw); !errors.Is(err, domain.ErrInvalidClient) {
				t.Errorf("VerifyClientAssertion: err = %v, want invalid_client", err)
			}
		})
	}
	_, err := a.UnverifiedIssuer("abc.def")
	assertRefused(t, err, "malformed client assertion")
}

func TestUnverifiedIssuer(t *testing.T) {
	a := newAssertions(fakes.NewClock(epoch), nil)
	k := keyFor(t, domain.EdDSA)
	iss, err := a.UnverifiedIssuer(signWith(t, k, assertionClaims()))
	if err != nil || iss != clientID {
		t.Errorf("iss = %q, %v; want %q", iss, err, clientID)
	}
	// Not verified: a bad signature still yields the claimed issuer.
	raw := signAssertion(t, "HS256", []byte(secret32), "", "", assertionClaims())
	if iss, err := a.UnverifiedIssuer(raw[:len(raw)-4] + "AAAA"); err != nil || iss != clientID {
		t.Errorf("iss = %q, %v; want %q", iss, err, clientID)
	}
	noIss := assertionClaims()
	delete(noIss, "iss")
	_, err = a.UnverifiedIssuer(signWith(t, k, noIss))
	assertRefused(t, err, "client assertion has no iss")
	numericIss := assertionClaims()
	numericIss["iss"] = 42
	_, err = a.UnverifiedIssuer(signWith(t, k, numericIss))
	assertRefused(t, err, "malformed client assertion claims")
}

// forgeHMAC builds an HMAC-signed JWS by hand, so the key may be shorter
// than go-jose would sign with.
func forgeHMAC(t testing.TB, alg string, key []byte, claims any) string {
	return forgeHMACWithKid(t, alg, key, "", claims)
}

func forgeHMACWithKid(t testing.TB, alg string, key []byte, kid string, claims any) string {
	t.Helper()
	h := map[string]any{"alg": alg}
	if kid != "" {
		h["kid"] = kid
	}
	input := b64JSON(t, h) + "." + b64JSON(t, claims)
	return input + "." + b64(hmacSum(alg, key, []byte(input)))
}

func TestJWKSURIWithoutKidRefetchesOnceForARotatedKey(t *testing.T) {
	old, rotated := keyFor(t, domain.ES256), regenerate(t, domain.ES256)
	bare := func(k domain.SigningKey) any { return edit(jwkOf(t, k), map[string]any{"kid": nil}) }
	s := newJWKSServer(t)
	s.setBody([]byte(jwksJSON(t, bare(old))))
	clock := fakes.NewClock(epoch)
	a := newAssertions(clock, s)
	c := domain.Client{ID: clientID, JWKSURI: s.URL}
	signed := func(k domain.SigningKey) string {
		return signAssertion(t, "ES256", k.Private, "", "", assertionClaims())
	}
	if _, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signed(old)); err != nil {
		t.Fatal(err)
	}
	s.setBody([]byte(jwksJSON(t, bare(rotated))))
	_, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signed(rotated))
	assertRefused(t, err, "client assertion signature is invalid")
	assertHits(t, s, 1)

	clock.Advance(minRefresh)
	if _, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signed(rotated)); err != nil {
		t.Fatalf("after the interval: %v", err)
	}
	assertHits(t, s, 2)
	// Forged signatures do not make it fetch again within the interval.
	for range 5 {
		_, _, err := a.VerifyClientAssertion(context.Background(), c, nil, signed(old))
		assertRefused(t, err, "client assertion signature is invalid")
	}
	assertHits(t, s, 2)
}

// What HMACAlgorithmsFor tells an operator at registration is what the
// verifier does: a secret of n bytes checks exactly the algorithms listed.
func TestHMACAlgorithmsForAgreesWithTheVerifier(t *testing.T) {
	a := newAssertions(fakes.NewClock(epoch), nil)
	c := domain.Client{ID: clientID, AuthMethods: []domain.AuthMethod{domain.AuthClientSecretJWT}}
	for _, n := range []int{32, 47, 48, 63, 64} {
		secret := []byte(strings.Repeat("s", n))
		listed := josekit.HMACAlgorithmsFor(n)
		for _, alg := range []string{"HS256", "HS384", "HS512"} {
			_, _, err := a.VerifyClientAssertion(context.Background(), c, [][]byte{secret}, forgeHMAC(t, alg, secret, assertionClaims()))
			if accepted, want := err == nil, slices.Contains(listed, alg); accepted != want {
				t.Errorf("%d-byte secret, %s: accepted %v, listed %v (%v)", n, alg, accepted, want, err)
			}
		}
	}
}
