package josekit_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

const issuer = "https://auth.example.test"

// epoch is the fake clock's start: tokens are issued at it.
var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// RSA 2048 generation takes a while: two keys for the whole test binary,
// made by the real generator.
var (
	rsaOnce sync.Once
	rsaKeys [2]domain.SigningKey
	rsaErr  error
)

func rsaKey(tb testing.TB, i int) domain.SigningKey {
	tb.Helper()
	rsaOnce.Do(func() {
		g := josekit.NewKeyGenerator(0)
		for j := range rsaKeys {
			if rsaKeys[j], rsaErr = g.GenerateSigningKey(domain.RS256); rsaErr != nil {
				return
			}
			rsaKeys[j].State = domain.KeyActive
		}
	})
	if rsaErr != nil {
		tb.Fatalf("generate rsa key: %v", rsaErr)
	}
	return rsaKeys[i]
}

func ring(keys ...domain.SigningKey) *application.KeyRing {
	r := &application.KeyRing{}
	r.Set(keys)
	return r
}

// token is a typical access token as IssueToken builds it.
func token() domain.Token {
	return domain.Token{
		Format:    domain.FormatJWT,
		ID:        "6c1e6f3a-1b0e-4f55-9d4b-0e6ad7c7b8a1",
		Issuer:    issuer,
		Subject:   "service-client-jwt",
		ClientID:  "service-client-jwt",
		Scopes:    domain.NewScopes("country.read", "customer.read", "customer.write"),
		Audience:  []string{"service-client-jwt"},
		IssuedAt:  epoch,
		NotBefore: epoch,
		ExpiresAt: epoch.Add(time.Hour),
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// segments splits a compact JWS and decodes its header and claims.
func segments(t testing.TB, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("decode part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("unmarshal part %d: %v", i, err)
		}
	}
	return header, claims
}

// forge builds a compact JWS by hand from any header and claims, signed
// RS256 with priv, so tests can produce tokens the Signer never would.
func forge(t testing.TB, priv crypto.Signer, header, claims any) string {
	t.Helper()
	input := b64JSON(t, header) + "." + b64JSON(t, claims)
	digest := sha256.Sum256([]byte(input))
	sig, err := priv.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}

// forgeHS256 "signs" with HMAC-SHA256 under secret.
func forgeHS256(t testing.TB, secret []byte, header, claims any) string {
	t.Helper()
	input := b64JSON(t, header) + "." + b64JSON(t, claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + b64(mac.Sum(nil))
}

// hmacSum is the HMAC of input under key with the hash alg names.
func hmacSum(alg string, key, input []byte) []byte {
	h := map[string]func() hash.Hash{"HS256": sha256.New, "HS384": sha512.New384, "HS512": sha512.New}[alg]
	mac := hmac.New(h, key)
	mac.Write(input)
	return mac.Sum(nil)
}

// claims are valid claims for a token checked at epoch.
func claims() map[string]any {
	return map[string]any{
		"iss":       issuer,
		"sub":       "service-client-jwt",
		"aud":       "service-client-jwt",
		"iat":       epoch.Unix(),
		"nbf":       epoch.Unix(),
		"exp":       epoch.Add(time.Hour).Unix(),
		"jti":       "jti-1",
		"client_id": "service-client-jwt",
		"scope":     "country.read",
	}
}

func header(kid string) map[string]any {
	return map[string]any{"alg": "RS256", "kid": kid, "typ": "at+jwt"}
}

func rsaPrivate(k domain.SigningKey) *rsa.PrivateKey { return k.Private.(*rsa.PrivateKey) }

// Keys of the faster algorithms, one per algorithm for the whole binary.
var (
	algKeysMu sync.Mutex
	algKeys   = map[domain.Algorithm]domain.SigningKey{}
)

// keyFor returns an active signing key for alg. RSA algorithms reuse the
// second shared RSA key under their own kid: generating more is slow.
func keyFor(tb testing.TB, alg domain.Algorithm) domain.SigningKey {
	tb.Helper()
	algKeysMu.Lock()
	defer algKeysMu.Unlock()
	if k, ok := algKeys[alg]; ok {
		return k
	}
	var k domain.SigningKey
	switch alg {
	case domain.RS256:
		k = rsaKey(tb, 0)
	case "RS384", "RS512", "PS256", "PS384", "PS512":
		k = rsaKey(tb, 1)
		k.ID = "rsa-" + string(alg)
		k.Algorithm = alg
	default:
		var err error
		if k, err = josekit.NewKeyGenerator(0).GenerateSigningKey(alg); err != nil {
			tb.Fatalf("generate %s key: %v", alg, err)
		}
		k.State = domain.KeyActive
	}
	algKeys[alg] = k
	return k
}
