package josekit_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// TestTrustingKeepsTheKeysOfAnUnchangedIssuer: the verifier Trusting
// makes for a changed set reuses what it fetched for an issuer whose key
// source did not change, fetches anew for one whose source changed, and
// knows nothing of one removed.
func TestTrustingKeepsTheKeysOfAnUnchangedIssuer(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set := jwkSet(t, jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"})
	var fetches atomic.Int32
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(rw http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(rw).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(rw http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		_, _ = rw.Write(set)
	})
	discovery := application.FederatedKeySource{Issuer: srv.URL, DiscoveryURL: srv.URL + "/.well-known/openid-configuration"}
	v, err := josekit.NewFederatedTokens([]josekit.FederatedIssuerKeys{discovery}, josekit.ClientAssertionOptions{MinRefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	token := signFederated(t, key, jose.ES256, "k1", map[string]any{"iss": srv.URL, "sub": "s", "aud": "a", "exp": now + 60})
	algs := []domain.Algorithm{"ES256"}
	verify := func(v application.FederatedTokenVerifier) error {
		_, err := v.VerifyFederatedToken(t.Context(), srv.URL, algs, token)
		return err
	}
	if err := verify(v); err != nil || fetches.Load() != 1 {
		t.Fatalf("first verify: %v, %d fetches", err, fetches.Load())
	}

	same, err := v.Trusting([]application.FederatedKeySource{discovery, {Issuer: "https://other.example", JWKSURI: "https://other.example/jwks"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(same); err != nil || fetches.Load() != 1 {
		t.Fatalf("after a reload with the same source: %v, %d fetches, want the cached keys", err, fetches.Load())
	}

	moved, err := same.Trusting([]application.FederatedKeySource{{Issuer: srv.URL, JWKSURI: srv.URL + "/jwks"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(moved); err != nil || fetches.Load() != 2 {
		t.Fatalf("after the source changed: %v, %d fetches, want a fetch from the new source", err, fetches.Load())
	}

	gone, err := moved.Trusting(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(gone); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("after the issuer was removed: %v, want refused", err)
	}
	if err := verify(v); err != nil {
		t.Errorf("the first verifier changed under its readers: %v", err)
	}

	if _, err := v.Trusting([]application.FederatedKeySource{{Issuer: "https://ci.example", JWKS: []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)}}); err == nil ||
		!strings.Contains(err.Error(), "no usable public key") {
		t.Errorf("an inline JWKS of a secret key: %v, want refused", err)
	}
}
