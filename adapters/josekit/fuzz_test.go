package josekit

// Fuzz targets for the JOSE input Sigil reads from outside: access tokens
// at a resource server, client assertions at the token endpoint, and JWK
// sets (a client's jwks, an authorization server's jwks_uri). The keys are
// fixed, so that tokens signed once (the seeds under testdata/fuzz) still
// verify in later runs: Ed25519 and PKCS #1 v1.5 signatures are
// deterministic, and the Signer makes ES256 access token signatures
// deterministic too (RFC 6979).

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"hash"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

const fuzzIssuer = "https://auth.example.test"

// fuzzEpoch is when every fuzzed token is checked; tokens are issued at it.
var fuzzEpoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

var (
	fuzzKeysOnce sync.Once
	fuzzKeySet   []domain.SigningKey
	fuzzKeysErr  error
)

// fuzzKeys returns one fixed key per algorithm family: EdDSA and ES256
// derived from constant seeds, RS256 read from testdata (RSA keys cannot
// be derived from a seed).
func fuzzKeys(tb testing.TB) []domain.SigningKey {
	tb.Helper()
	fuzzKeysOnce.Do(func() {
		ed := ed25519.NewKeyFromSeed(seed32("sigil fuzz ed25519"))
		ec, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed32("sigil fuzz p-256"))
		if err != nil {
			fuzzKeysErr = err
			return
		}
		pemBytes, err := os.ReadFile("testdata/fuzz_rsa_key.pem")
		if err != nil {
			fuzzKeysErr = err
			return
		}
		block, _ := pem.Decode(pemBytes)
		if block == nil {
			fuzzKeysErr = errors.New("testdata/fuzz_rsa_key.pem holds no PEM block")
			return
		}
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			fuzzKeysErr = err
			return
		}
		fuzzKeySet = []domain.SigningKey{
			{ID: "fuzz-rs256", Algorithm: domain.RS256, State: domain.KeyActive, Private: parsed.(*rsa.PrivateKey)},
			{ID: "fuzz-es256", Algorithm: domain.ES256, State: domain.KeyPublished, Private: ec},
			{ID: "fuzz-eddsa", Algorithm: domain.EdDSA, State: domain.KeyRetired, Private: ed},
		}
	})
	if fuzzKeysErr != nil {
		tb.Fatalf("fuzz keys: %v", fuzzKeysErr)
	}
	return fuzzKeySet
}

func seed32(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// fuzzAccessTokens signs one access token per fuzz key and returns them by
// their compact form, with the token each stands for.
func fuzzAccessTokens(tb testing.TB) map[string]domain.Token {
	tb.Helper()
	signer := NewSigner()
	out := map[string]domain.Token{}
	for i, k := range fuzzKeys(tb) {
		tok := domain.Token{
			Format:    domain.FormatJWT,
			ID:        "jti-" + k.ID,
			Issuer:    fuzzIssuer,
			Subject:   "svc-a",
			ClientID:  "svc-a",
			Scopes:    domain.NewScopes("country.read", "customer.read"),
			Audience:  [][]string{{"svc-a"}, {"https://api.example.test", "urn:b"}, {"svc-a"}}[i],
			IssuedAt:  fuzzEpoch,
			NotBefore: fuzzEpoch,
			ExpiresAt: fuzzEpoch.Add(time.Hour),
		}
		raw, err := signer.SignAccessToken(context.Background(), k, tok)
		if err != nil {
			tb.Fatalf("sign with %s: %v", k.ID, err)
		}
		tok.Value = raw
		out[raw] = tok
	}
	return out
}

// fuzzRefusedTokens are access tokens the Signer made with the fuzz keys
// whose claims the verifier must refuse: another issuer, expired, not yet
// valid, no scope that parses.
func fuzzRefusedTokens(tb testing.TB) []string {
	tb.Helper()
	signer := NewSigner()
	var out []string
	for i, change := range []func(*domain.Token){
		func(t *domain.Token) { t.Issuer = "https://elsewhere.example.test" },
		func(t *domain.Token) { t.ExpiresAt = fuzzEpoch },
		func(t *domain.Token) { t.NotBefore = fuzzEpoch.Add(time.Minute) },
		func(t *domain.Token) { t.Scopes = domain.Scopes{"a\"b"} },
	} {
		tok := domain.Token{
			Format: domain.FormatJWT, ID: "refused-" + string(rune('a'+i)), Issuer: fuzzIssuer, Subject: "svc-a",
			ClientID: "svc-a", Audience: []string{"svc-a"}, IssuedAt: fuzzEpoch.Add(-time.Hour),
			ExpiresAt: fuzzEpoch.Add(time.Hour),
		}
		change(&tok)
		k := fuzzKeys(tb)[i%3]
		raw, err := signer.SignAccessToken(context.Background(), k, tok)
		if err != nil {
			tb.Fatalf("sign with %s: %v", k.ID, err)
		}
		out = append(out, raw)
	}
	return out
}

func fuzzVerifier(tb testing.TB) *Verifier {
	r := &application.KeyRing{}
	r.Set(fuzzKeys(tb))
	return NewVerifier(r, VerifierOptions{
		Issuer:     fuzzIssuer,
		Clock:      fakes.NewClock(fuzzEpoch),
		Algorithms: []domain.Algorithm{domain.RS256, domain.ES256, domain.EdDSA},
	})
}

// sameToken compares what a test cares about in two tokens; times by
// instant, not by location.
func sameToken(a, b domain.Token) bool {
	return a.Value == b.Value && a.Format == b.Format && a.ID == b.ID && a.Issuer == b.Issuer &&
		a.Subject == b.Subject && a.ClientID == b.ClientID && slices.Equal(a.Scopes, b.Scopes) &&
		slices.Equal(a.Audience, b.Audience) && a.IssuedAt.Equal(b.IssuedAt) &&
		a.NotBefore.Equal(b.NotBefore) && a.ExpiresAt.Equal(b.ExpiresAt)
}

// FuzzVerifyAccessToken checks that a token verifies only if it is, byte
// for byte, one the Signer made, and then stands for what was signed; and
// that anything else, from a changed byte to random text, is refused with
// invalid_token and nothing besides. The key source here never fails, so
// no other error class is allowed.
func FuzzVerifyAccessToken(f *testing.F) {
	signed := fuzzAccessTokens(f)
	for raw := range signed {
		f.Add(raw)
		f.Add(strings.ToUpper(raw[:1]) + raw[1:])
		f.Add(raw + "=")
		dot := strings.LastIndexByte(raw, '.')
		f.Add(raw[:dot+1] + "\n" + raw[dot+1:])
	}
	for _, raw := range fuzzRefusedTokens(f) {
		f.Add(raw)
	}
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImZ1enotcnMyNTYifQ.e30.c2ln")
	v := fuzzVerifier(f)
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := v.VerifyAccessToken(context.Background(), raw)
		if err != nil {
			if !reflect.ValueOf(got).IsZero() {
				t.Fatalf("token %+v returned with error %v", got, err)
			}
			if !errors.Is(err, domain.ErrInvalidToken) {
				t.Fatalf("VerifyAccessToken(%q) error %v is not invalid_token", raw, err)
			}
			return
		}
		want, ok := signed[raw]
		if !ok {
			t.Fatalf("VerifyAccessToken accepted %q, which the signer did not make", raw)
		}
		if !sameToken(got, want) {
			t.Fatalf("verified token\n got  %+v\n want %+v", got, want)
		}
	})
}

// mutations are what each byte of a signed JWS is replaced with in the
// tests below: the next base64url character (which, in the last character
// of a part, may change only bits the decoder drops), a character from
// outside the alphabet, and the line feed and carriage return that Go's
// base64 decoder skips.
func mutations(c byte) []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	out := []byte{'\n', '\r', '+', '='}
	if i := strings.IndexByte(alphabet, c); i >= 0 {
		out = append(out, alphabet[(i+1)%len(alphabet)])
	}
	return out
}

// TestEveryByteOfASignedAccessTokenMatters changes each byte of each
// signed token in the ways mutations lists, and inserts a line feed
// before it: every such token must be refused as invalid_token. The fuzz
// target finds the same by chance; this walks every position.
func TestEveryByteOfASignedAccessTokenMatters(t *testing.T) {
	v := fuzzVerifier(t)
	for raw := range fuzzAccessTokens(t) {
		for i := 0; i < len(raw); i++ {
			variants := []string{raw[:i] + "\n" + raw[i:]}
			for _, c := range mutations(raw[i]) {
				variants = append(variants, raw[:i]+string(c)+raw[i+1:])
			}
			for _, m := range variants {
				if _, err := v.VerifyAccessToken(context.Background(), m); !errors.Is(err, domain.ErrInvalidToken) {
					t.Fatalf("token with byte %d changed (%q for %q): error %v, want invalid_token", i, m[i], raw[i], err)
				}
			}
		}
	}
}

// The client of the assertion targets: both JWT methods, its public keys
// inline, and two secrets, one long enough for HS256 only, one for all
// three HMAC algorithms.
const fuzzClientID = "svc-a"

var fuzzSecrets = [][]byte{
	[]byte("0123456789abcdef0123456789abcdef"),
	[]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
}

func fuzzAssertionClient(tb testing.TB) domain.Client {
	tb.Helper()
	keys := fuzzKeys(tb)
	doc, err := NewKeySetEncoder().EncodeJWKS([]domain.SigningKey{keys[0], keys[2]})
	if err != nil {
		tb.Fatal(err)
	}
	return domain.Client{
		ID:          fuzzClientID,
		AuthMethods: []domain.AuthMethod{domain.AuthClientSecretJWT, domain.AuthPrivateKeyJWT},
		JWKS:        string(doc),
	}
}

// signedAssertion is a client assertion the fuzz client made, with what
// verifying it must give.
type signedAssertion struct {
	claims assertionClaims
	method domain.AuthMethod
}

// compactJWS signs header and claims as a client library would, with the
// standard library directly.
func compactJWS(tb testing.TB, header map[string]string, claims assertionClaims, key any) string {
	tb.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	var sig []byte
	switch k := key.(type) {
	case []byte:
		newHash := map[string]func() hash.Hash{"HS256": sha256.New, "HS384": sha512.New384, "HS512": sha512.New}[header["alg"]]
		mac := hmac.New(newHash, k)
		mac.Write([]byte(input))
		sig = mac.Sum(nil)
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(input))
	case *rsa.PrivateKey:
		digest := sha256.Sum256([]byte(input))
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:]); err != nil {
			tb.Fatal(err)
		}
	default:
		tb.Fatalf("no signing for %T", key)
	}
	return input + "." + b64.EncodeToString(sig)
}

func fuzzAssertions(tb testing.TB) map[string]signedAssertion {
	tb.Helper()
	keys := fuzzKeys(tb)
	claims := func(jti string) assertionClaims {
		return assertionClaims{
			Issuer: fuzzClientID, Subject: fuzzClientID, Audience: []string{fuzzIssuer + "/oauth2/token"},
			ID: jti, IssuedAt: 1893553445, ExpiresAt: 1893553745,
		}
	}
	out := map[string]signedAssertion{}
	for _, a := range []struct {
		header map[string]string
		key    any
		method domain.AuthMethod
	}{
		{map[string]string{"alg": "HS256", "typ": "JWT"}, fuzzSecrets[0], domain.AuthClientSecretJWT},
		{map[string]string{"alg": "HS512"}, fuzzSecrets[1], domain.AuthClientSecretJWT},
		{map[string]string{"alg": "RS256", "kid": keys[0].ID}, keys[0].Private, domain.AuthPrivateKeyJWT},
		{map[string]string{"alg": "EdDSA", "kid": keys[2].ID}, keys[2].Private, domain.AuthPrivateKeyJWT},
		{map[string]string{"alg": "EdDSA"}, keys[2].Private, domain.AuthPrivateKeyJWT},
	} {
		c := claims("jti-" + a.header["alg"] + a.header["kid"])
		if a.header["alg"] == "HS512" {
			// The signature is checked, not the claims: an assertion
			// whose sub is not its iss still verifies, and each keeps
			// its own.
			c.Subject = "someone-else"
		}
		out[compactJWS(tb, a.header, c, a.key)] = signedAssertion{claims: c, method: a.method}
	}
	return out
}

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// FuzzClientAssertion checks UnverifiedIssuer and VerifyClientAssertion on
// any text, for a client with secrets and inline keys: an assertion
// verifies only if it is one the client signed, and then gives its
// claims, the method its algorithm implies, and the issuer
// UnverifiedIssuer read; every failure of either is invalid_client with
// nothing besides (inline keys are never fetched, so never unavailable).
func FuzzClientAssertion(f *testing.F) {
	signed := fuzzAssertions(f)
	for raw := range signed {
		f.Add(raw)
		f.Add(raw + "A")
		dot := strings.LastIndexByte(raw, '.')
		f.Add(raw[:dot] + "." + raw[dot+1:len(raw)-1])
	}
	f.Add("")
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJzdmMtYSJ9.")
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiIifQ.c2ln")
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2ln")
	client := fuzzAssertionClient(f)
	a := NewClientAssertions(ClientAssertionOptions{Clock: fakes.NewClock(fuzzEpoch), Logger: discardLogger})
	f.Fuzz(func(t *testing.T, raw string) {
		iss, issErr := a.UnverifiedIssuer(raw)
		if issErr != nil && iss != "" {
			t.Fatalf("issuer %q returned with error %v", iss, issErr)
		}
		if issErr != nil && !errors.Is(issErr, domain.ErrInvalidClient) {
			t.Fatalf("UnverifiedIssuer(%q) error %v is not invalid_client", raw, issErr)
		}
		if issErr == nil && iss == "" {
			t.Fatalf("UnverifiedIssuer(%q) gave an empty issuer", raw)
		}

		got, method, err := a.VerifyClientAssertion(context.Background(), client, fuzzSecrets, raw)
		if err != nil {
			if !reflect.ValueOf(got).IsZero() || method != "" {
				t.Fatalf("assertion %+v, %q returned with error %v", got, method, err)
			}
			if !errors.Is(err, domain.ErrInvalidClient) {
				t.Fatalf("VerifyClientAssertion(%q) error %v is not invalid_client", raw, err)
			}
			return
		}
		want, ok := signed[raw]
		if !ok {
			t.Fatalf("VerifyClientAssertion accepted %q, which the client did not sign", raw)
		}
		c := want.claims
		if method != want.method || got.Issuer != c.Issuer || got.Subject != c.Subject || got.ID != c.ID ||
			!slices.Equal(got.Audience, c.Audience) || !got.IssuedAt.Equal(c.IssuedAt.Time()) ||
			!got.NotBefore.Equal(c.NotBefore.Time()) || !got.ExpiresAt.Equal(c.ExpiresAt.Time()) {
			t.Fatalf("verified %+v by %s, want %+v by %s", got, method, c, want.method)
		}
		if issErr != nil || iss != got.Issuer {
			t.Fatalf("UnverifiedIssuer = %q, %v; the verified issuer is %q", iss, issErr, got.Issuer)
		}
	})
}

// TestEveryByteOfASignedAssertionMatters is the assertion counterpart of
// TestEveryByteOfASignedAccessTokenMatters.
func TestEveryByteOfASignedAssertionMatters(t *testing.T) {
	client := fuzzAssertionClient(t)
	a := NewClientAssertions(ClientAssertionOptions{Clock: fakes.NewClock(fuzzEpoch), Logger: discardLogger})
	for raw := range fuzzAssertions(t) {
		if _, _, err := a.VerifyClientAssertion(context.Background(), client, fuzzSecrets, raw); err != nil {
			t.Fatalf("unchanged assertion refused: %v", err)
		}
		for i := 0; i < len(raw); i++ {
			variants := []string{raw[:i] + "\n" + raw[i:]}
			for _, c := range mutations(raw[i]) {
				variants = append(variants, raw[:i]+string(c)+raw[i+1:])
			}
			for _, m := range variants {
				if _, _, err := a.VerifyClientAssertion(context.Background(), client, fuzzSecrets, m); !errors.Is(err, domain.ErrInvalidClient) {
					t.Fatalf("assertion with byte %d changed (%q for %q): error %v, want invalid_client", i, m[i], raw[i], err)
				}
			}
		}
	}
}

// FuzzParseKeySet checks the JWK set reader on any document: it gives a
// set or an error, never both; it keeps, in document order, each entry
// that would be kept on its own unless an earlier kept key has its kid;
// every key it keeps fits the algorithm it will check and came from an
// entry without private members and with use sig or none; and the kept
// keys, published again as a JWK set, read back as the same keys.
func FuzzParseKeySet(f *testing.F) {
	keys := fuzzKeys(f)
	doc, err := NewKeySetEncoder().EncodeJWKS(keys)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc)
	f.Add([]byte(strings.Replace(string(doc), `"use":"sig"`, `"use":"enc"`, 1)))
	f.Add([]byte(strings.Replace(string(doc), `"kid":"fuzz-es256"`, `"kid":"fuzz-rs256"`, 1)))
	f.Add([]byte(strings.Replace(string(doc), `"alg":"ES256"`, `"alg":"RS256"`, 1)))
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"OKP","crv":"Ed25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","use":"enc","x":"1","y":"2"},17,"x",null]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		set, err := parseKeySet(body, discardLogger)
		if (set == nil) == (err == nil) {
			t.Fatalf("parseKeySet gave set %v and error %v", set, err)
		}
		if err != nil {
			return
		}
		for kid, k := range set.byKid {
			if kid == "" || k.kid != kid {
				t.Fatalf("key %q listed under kid %q", k.kid, kid)
			}
		}
		for _, k := range set.all {
			if k.pub == nil || !fits(k.algorithm(), k.pub) {
				t.Fatalf("kept key %q (%T) does not fit algorithm %q", k.kid, k.pub, k.algorithm())
			}
		}
		var doc struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("parseKeySet accepted %q, which is not JSON with keys: %v", body, err)
		}
		kept, seen := 0, map[string]bool{}
		for _, e := range doc.Keys {
			alone, err := parseKeySet([]byte(`{"keys":[`+string(e)+`]}`), discardLogger)
			if err != nil {
				t.Fatalf("entry %s alone is not a set: %v", e, err)
			}
			if len(alone.all) == 0 || (alone.all[0].kid != "" && seen[alone.all[0].kid]) {
				continue
			}
			k := alone.all[0]
			seen[k.kid] = true
			if kept >= len(set.all) || set.all[kept].kid != k.kid || !samePublicKey(set.all[kept].pub, k.pub) {
				t.Fatalf("entry %s, kept alone, is not key %d of the set", e, kept)
			}
			if k.kid != "" && !samePublicKey(set.byKid[k.kid].pub, k.pub) {
				t.Fatalf("kid %q does not name the first key with that kid", k.kid)
			}
			var members map[string]json.RawMessage
			if err := json.Unmarshal(e, &members); err != nil {
				t.Fatalf("kept entry %s is not an object", e)
			}
			for _, m := range privateMembers {
				if _, ok := members[m]; ok {
					t.Fatalf("entry %s kept despite private member %q", e, m)
				}
			}
			var use string
			if u, ok := members["use"]; ok && (json.Unmarshal(u, &use) != nil || (use != "" && use != "sig")) {
				t.Fatalf("entry %s kept with use %s", e, u)
			}
			kept++
		}
		if kept != len(set.all) {
			t.Fatalf("set keeps %d keys; its entries alone give %d", len(set.all), kept)
		}

		again := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
		for _, k := range set.all {
			again.Keys = append(again.Keys, jose.JSONWebKey{Key: k.pub, KeyID: k.kid, Algorithm: string(k.alg)})
		}
		republished, err := json.Marshal(again)
		if err != nil {
			t.Fatalf("republish kept keys: %v", err)
		}
		back, err := parseKeySet(republished, discardLogger)
		if err != nil {
			t.Fatalf("republished set %s refused: %v", republished, err)
		}
		if len(back.all) != len(set.all) {
			t.Fatalf("republished set keeps %d keys, want %d", len(back.all), len(set.all))
		}
		for i, k := range set.all {
			b := back.all[i]
			if b.kid != k.kid || b.alg != k.alg || !samePublicKey(b.pub, k.pub) {
				t.Fatalf("key %d reads back as %q %q, want %q %q", i, b.kid, b.alg, k.kid, k.alg)
			}
		}
	})
}
