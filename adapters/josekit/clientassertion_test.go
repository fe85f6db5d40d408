package josekit_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sigilauth/sigil/adapters/josekit"
)

func pkcs8PEM(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// TestSignClientAssertion: the assertion verifies with the key's public
// half under the algorithm of its type, and says what RFC 7523 §3 asks.
func TestSignClientAssertion(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name string
		pem  []byte
		pub  crypto.PublicKey
		alg  jose.SignatureAlgorithm
	}{
		{"RSA in PKCS #8", pkcs8PEM(t, rsaKey), rsaKey.Public(), jose.RS256},
		{"RSA in PKCS #1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), rsaKey.Public(), jose.RS256},
		{"P-256 in PKCS #8", pkcs8PEM(t, ecKey), ecKey.Public(), jose.ES256},
		{"Ed25519 in PKCS #8", pkcs8PEM(t, edKey), edKey.Public(), jose.EdDSA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := josekit.SignClientAssertion(tc.pem, "key-1", "reporting", "https://as.example/token", now)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{tc.alg})
			if err != nil {
				t.Fatalf("parse as %s: %v", tc.alg, err)
			}
			if kid := tok.Headers[0].KeyID; kid != "key-1" {
				t.Errorf("kid %q", kid)
			}
			var c jwt.Claims
			if err := tok.Claims(tc.pub, &c); err != nil {
				t.Fatalf("does not verify with the public key: %v", err)
			}
			if c.Issuer != "reporting" || c.Subject != "reporting" || !c.Audience.Contains("https://as.example/token") ||
				len(c.ID) != 32 || !c.IssuedAt.Time().Equal(now) || !c.Expiry.Time().Equal(now.Add(time.Minute)) {
				t.Errorf("claims %+v", c)
			}
			again, _ := josekit.SignClientAssertion(tc.pem, "key-1", "reporting", "https://as.example/token", now)
			if again == raw {
				t.Error("two assertions are the same: the jti must be fresh each time")
			}
		})
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, bad := range map[string][]byte{
		"not PEM":             []byte("-----nothing"),
		"a P-384 key":         pkcs8PEM(t, p384),
		"a certificate block": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}),
	} {
		if _, err := josekit.SignClientAssertion(bad, "", "reporting", "https://as.example/token", now); err == nil || !strings.HasPrefix(err.Error(), "client key: ") {
			t.Errorf("%s: got %v; want a client key error", name, err)
		}
	}
}
