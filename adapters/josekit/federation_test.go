package josekit_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
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
	"github.com/sigilauth/sigil/test/fakes"
)

// federationWorld is a loopback issuer that publishes a discovery
// document and a JWKS, as a Kubernetes API server's OIDC issuer does, and
// Sigil's use cases trusting it, a SPIFFE issuer (jwks_uri) and a CI
// issuer (inline JWKS).
type federationWorld struct {
	clock     *fakes.Clock
	auth      *application.AuthenticateClient
	issue     *application.IssueToken
	k8s       string // the loopback issuer
	spiffe    string
	ci        string
	rsaKey    *rsa.PrivateKey
	ecKey     *ecdsa.PrivateKey
	otherKey  *rsa.PrivateKey
	jwksFetch atomic.Int32
}

const fedSigilIssuer = "https://sigil.test/ms-auth-server"

func jwkSet(t *testing.T, keys ...jose.JSONWebKey) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newFederationWorld(t *testing.T) *federationWorld {
	t.Helper()
	w := &federationWorld{clock: fakes.NewClock(time.Unix(1_800_000_000, 0))}
	var err error
	if w.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if w.otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if w.ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	jwks := jwkSet(t, jose.JSONWebKey{Key: &w.rsaKey.PublicKey, KeyID: "sa-1", Algorithm: "RS256", Use: "sig"})
	spiffeJWKS := jwkSet(t, jose.JSONWebKey{Key: &w.ecKey.PublicKey, KeyID: "svid-1", Algorithm: "ES256", Use: "sig"})
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	w.k8s = srv.URL
	w.spiffe = "https://spire.example.org"
	w.ci = "https://token.actions.githubusercontent.com"
	mux.HandleFunc("/.well-known/openid-configuration", func(rw http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(rw).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/openid/v1/jwks"})
	})
	mux.HandleFunc("/openid/v1/jwks", func(rw http.ResponseWriter, _ *http.Request) {
		w.jwksFetch.Add(1)
		_, _ = rw.Write(jwks)
	})
	mux.HandleFunc("/spiffe/jwks", func(rw http.ResponseWriter, _ *http.Request) { _, _ = rw.Write(spiffeJWKS) })
	ciJWKS := jwkSet(t, jose.JSONWebKey{Key: &w.rsaKey.PublicKey, KeyID: "ci-1", Algorithm: "RS256", Use: "sig"})

	verifier, err := josekit.NewFederatedTokens([]josekit.FederatedIssuerKeys{
		{Issuer: w.k8s, DiscoveryURL: srv.URL + "/.well-known/openid-configuration"},
		{Issuer: w.spiffe, JWKSURI: srv.URL + "/spiffe/jwks"},
		{Issuer: w.ci, JWKS: ciJWKS},
	}, josekit.ClientAssertionOptions{Clock: w.clock, MinRefreshInterval: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	clients := fakes.NewClients()
	for _, id := range []string{"orders", "billing", "deployer"} {
		_ = clients.SaveClient(context.Background(), domain.Client{
			ID: id, AuthMethods: []domain.AuthMethod{domain.AuthFederatedJWT},
			GrantTypes: []domain.GrantType{domain.GrantClientCredentials}, TokenFormat: domain.FormatOpaque,
			AllowedScopes: domain.NewScopes("read"),
		})
	}
	_ = clients.SaveClient(context.Background(), domain.Client{
		ID: "secret-only", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretBasic},
		GrantTypes: []domain.GrantType{domain.GrantClientCredentials},
	})
	aud := []string{fedSigilIssuer, fedSigilIssuer + "/oauth2/token"}
	algs := application.DefaultFederationAlgorithms
	replays := application.NewMemoryReplayGuard(w.clock, 1000)
	fed := application.NewFederation([]application.FederatedIssuer{
		{Issuer: w.k8s, Audiences: aud, Algorithms: algs, MaxLifetime: time.Hour, Mappings: []application.FederationMapping{
			{Client: "orders", Subject: "system:serviceaccount:shop:orders"},
			{Client: "secret-only", Subject: "system:serviceaccount:shop:legacy"},
			{Client: "ghost", Subject: "system:serviceaccount:shop:ghost"},
		}},
		{Issuer: w.spiffe, Audiences: aud, Algorithms: algs, MaxLifetime: time.Hour, Mappings: []application.FederationMapping{
			{Client: "billing", Subject: "spiffe://example.org/ns/shop/sa/billing"},
		}},
		{Issuer: w.ci, Audiences: []string{"https://sigil.test"}, Algorithms: []domain.Algorithm{"RS256"}, MaxLifetime: 10 * time.Minute, Mappings: []application.FederationMapping{
			{Client: "deployer", Claims: map[string]string{"repository": "acme/app", "ref": "refs/heads/main"}},
		}},
	}, verifier, clients, replays, w.clock)
	w.auth, err = application.NewAuthenticateClient(clients, fakes.Hasher{}, w.clock, application.AssertionSupport{
		Verifier: josekit.NewClientAssertions(josekit.ClientAssertionOptions{Clock: w.clock}), Box: fakes.Box{}, Replays: replays, Audiences: aud,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.auth.Federate(fed)
	w.issue = application.NewIssueToken(w.auth, nil, nil, fakes.NewTokens(w.clock), w.clock, rand.Reader, fedSigilIssuer)
	return w
}

// sign makes a compact JWS of claims with key under alg and kid.
func signFederated(t *testing.T, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// serviceAccountToken is what a kubelet projects for audience aud.
func (w *federationWorld) serviceAccountToken(edit func(map[string]any)) map[string]any {
	now := w.clock.Now().Unix()
	c := map[string]any{
		"iss": w.k8s, "sub": "system:serviceaccount:shop:orders", "aud": []string{fedSigilIssuer},
		"iat": now, "nbf": now, "exp": now + 600, "jti": "3f2a6c1e-" + time.Now().Format("150405.000000000"),
		"kubernetes.io": map[string]any{
			"namespace":      "shop",
			"serviceaccount": map[string]string{"name": "orders", "uid": "6f1b3c3e-8a44-4b8e-9d1e-2f6d1c7a9b10"},
			"pod":            map[string]string{"name": "orders-7d9f", "uid": "b2c1d0e9-1111-2222-3333-444455556666"},
		},
	}
	if edit != nil {
		edit(c)
	}
	return c
}

func (w *federationWorld) assert(ctx context.Context, token string) (domain.Client, error) {
	return w.auth.Handle(ctx, application.ClientCredentials{Assertion: token, AssertionType: application.AssertionTypeJWTBearer})
}

func TestFederatedServiceAccountTokenAuthenticatesItsClient(t *testing.T) {
	w := newFederationWorld(t)
	ctx := context.Background()
	c, err := w.assert(ctx, signFederated(t, w.rsaKey, jose.RS256, "sa-1", w.serviceAccountToken(nil)))
	if err != nil || c.ID != "orders" {
		t.Fatalf("got %q, %v; want client orders", c.ID, err)
	}
	// The JWT bearer grant with another token of the same account: a
	// token for the mapped client.
	out, err := w.issue.Handle(ctx, application.IssueTokenInput{
		GrantType: application.GrantTypeJWTBearer, Scope: "read",
		Assertion: signFederated(t, w.rsaKey, jose.RS256, "sa-1", w.serviceAccountToken(nil)),
	})
	if err != nil || out.ClientID != "orders" || out.AccessToken == "" || out.Scope != "read" {
		t.Fatalf("grant: %+v, %v", out, err)
	}
}

func TestFederatedSPIFFEAndCITokensAuthenticateTheirClients(t *testing.T) {
	w := newFederationWorld(t)
	now := w.clock.Now().Unix()
	svid := signFederated(t, w.ecKey, jose.ES256, "svid-1", map[string]any{
		"iss": w.spiffe, "sub": "spiffe://example.org/ns/shop/sa/billing", "aud": fedSigilIssuer + "/oauth2/token", "iat": now, "exp": now + 300,
	})
	if c, err := w.assert(context.Background(), svid); err != nil || c.ID != "billing" {
		t.Fatalf("JWT-SVID: %q, %v", c.ID, err)
	}
	ci := func(ref string) string {
		return signFederated(t, w.rsaKey, jose.RS256, "ci-1", map[string]any{
			"iss": w.ci, "sub": "repo:acme/app:ref:" + ref, "aud": "https://sigil.test", "iat": now, "exp": now + 300,
			"repository": "acme/app", "ref": ref, "jti": "ci-" + ref,
		})
	}
	if c, err := w.assert(context.Background(), ci("refs/heads/main")); err != nil || c.ID != "deployer" {
		t.Fatalf("CI token: %q, %v", c.ID, err)
	}
	_, err := w.assert(context.Background(), ci("refs/heads/feature"))
	wantRefused(t, err, domain.ErrInvalidClient, "no mapping matches")
}

func wantRefused(t *testing.T, err error, code *domain.Error, reason string) {
	t.Helper()
	var e *domain.Error
	if !errors.As(err, &e) || !errors.Is(err, code) {
		t.Fatalf("got %v, want %s", err, code.Code)
	}
	if !strings.Contains(e.LogReason(), reason) {
		t.Fatalf("log reason %q, want it to say %q", e.LogReason(), reason)
	}
}

func TestFederatedTokensWithABrokenClaimAreRefused(t *testing.T) {
	w := newFederationWorld(t)
	now := w.clock.Now().Unix()
	hs := func() string {
		// HS256 with the issuer's public key as the secret (RFC 8725 §2.1).
		der, _ := x509.MarshalPKIXPublicKey(&w.rsaKey.PublicKey)
		return signFederated(t, der, jose.HS256, "sa-1", w.serviceAccountToken(nil))
	}
	none := func() string {
		enc := base64.RawURLEncoding.EncodeToString
		p, _ := json.Marshal(w.serviceAccountToken(nil))
		return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(p) + "."
	}
	edit := func(f func(map[string]any)) string {
		return signFederated(t, w.rsaKey, jose.RS256, "sa-1", w.serviceAccountToken(f))
	}
	cases := []struct {
		name, token, reason string
	}{
		{"wrong aud", edit(func(c map[string]any) { c["aud"] = "https://other.example" }), "aud"},
		{"expired", edit(func(c map[string]any) { c["iat"], c["nbf"], c["exp"] = now-7200, now-7200, now-3600 }), "expired"},
		{"nbf in the future", edit(func(c map[string]any) { c["nbf"] = now + 300 }), "nbf"},
		{"too long a lifetime", edit(func(c map[string]any) { c["exp"] = now + 48*3600 }), "lifetime"},
		{"no exp", edit(func(c map[string]any) { delete(c, "exp") }), "no exp"},
		{"sub not mapped", edit(func(c map[string]any) { c["sub"] = "system:serviceaccount:shop:intruder" }), "no mapping"},
		{"mapped client without federated_jwt", edit(func(c map[string]any) { c["sub"] = "system:serviceaccount:shop:legacy" }), "does not allow federated_jwt"},
		{"mapped client missing", edit(func(c map[string]any) { c["sub"] = "system:serviceaccount:shop:ghost" }), "does not exist"},
		{"issuer not configured", edit(func(c map[string]any) { c["iss"] = "https://evil.example" }), "unknown client"},
		{"iss of another trusted issuer", edit(func(c map[string]any) { c["iss"] = w.spiffe }), "unknown key"},
		{"signed by another key", signFederated(t, w.otherKey, jose.RS256, "sa-1", w.serviceAccountToken(nil)), "signature is invalid"},
		{"HS256 with the public key as secret", hs(), "algorithm"},
		{"alg none", none(), "algorithm"},
		{"ES512 not on the CI issuer's list", signFederated(t, w.ecKey, jose.ES256, "ci-1", map[string]any{"iss": w.ci, "sub": "x", "aud": "https://sigil.test", "exp": now + 60}), "algorithm ES256 not allowed"},
		{"typ dpop+jwt", func() string {
			s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: w.rsaKey}, (&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("kid", "sa-1"))
			p, _ := json.Marshal(w.serviceAccountToken(nil))
			jws, _ := s.Sign(p)
			out, _ := jws.CompactSerialize()
			return out
		}(), "typ"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.assert(context.Background(), tc.token)
			wantRefused(t, err, domain.ErrInvalidClient, tc.reason)
		})
	}
	// The grant answers invalid_grant for the same faults.
	_, err := w.issue.Handle(context.Background(), application.IssueTokenInput{GrantType: application.GrantTypeJWTBearer, Assertion: cases[0].token})
	wantRefused(t, err, domain.ErrInvalidGrant, "aud")
}

func TestFederatedTokenWithAJTIIsSingleUse(t *testing.T) {
	w := newFederationWorld(t)
	tok := signFederated(t, w.rsaKey, jose.RS256, "sa-1", w.serviceAccountToken(nil))
	if _, err := w.assert(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	_, err := w.assert(context.Background(), tok)
	wantRefused(t, err, domain.ErrInvalidClient, "replayed")
}

func TestUnknownKidsCostTheIssuerOneFetchPerInterval(t *testing.T) {
	w := newFederationWorld(t)
	ctx := context.Background()
	if _, err := w.assert(ctx, signFederated(t, w.rsaKey, jose.RS256, "sa-1", w.serviceAccountToken(nil))); err != nil {
		t.Fatal(err)
	}
	before := w.jwksFetch.Load()
	w.clock.Advance(11 * time.Second)
	for i := range 20 {
		_, err := w.assert(ctx, signFederated(t, w.rsaKey, jose.RS256, "made-up-"+string(rune('a'+i)), w.serviceAccountToken(nil)))
		wantRefused(t, err, domain.ErrInvalidClient, "unknown key")
	}
	if got := w.jwksFetch.Load() - before; got != 1 {
		t.Fatalf("20 unknown kids made %d fetches of the issuer's JWKS, want 1", got)
	}
}

func TestDiscoveryDocumentNamingAnotherIssuerGivesNoKeys(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("/.well-known/openid-configuration", func(rw http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(rw).Encode(map[string]string{"issuer": "https://impostor.example", "jwks_uri": srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(rw http.ResponseWriter, _ *http.Request) {
		_, _ = rw.Write(jwkSet(t, jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k", Algorithm: "RS256"}))
	})
	v, err := josekit.NewFederatedTokens([]josekit.FederatedIssuerKeys{{Issuer: srv.URL, DiscoveryURL: srv.URL + "/.well-known/openid-configuration"}}, josekit.ClientAssertionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tok := signFederated(t, key, jose.RS256, "k", map[string]any{"iss": srv.URL, "sub": "x", "aud": "a", "exp": time.Now().Add(time.Minute).Unix()})
	_, err = v.VerifyFederatedToken(context.Background(), srv.URL, application.DefaultFederationAlgorithms, tok)
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) || !strings.Contains(err.Error(), "impostor") {
		t.Fatalf("got %v, want the keys unavailable because the document names another issuer", err)
	}
}

func TestInlineJWKSWithoutAPublicKeyIsRefusedAtStart(t *testing.T) {
	_, err := josekit.NewFederatedTokens([]josekit.FederatedIssuerKeys{{Issuer: "https://k8s.example", JWKS: []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)}}, josekit.ClientAssertionOptions{})
	if err == nil {
		t.Fatal("a JWKS holding only a symmetric key was accepted")
	}
}
