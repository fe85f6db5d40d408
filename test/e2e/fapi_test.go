package e2e_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/dpopclient"
)

// fapiKey is a client's private_key_jwt key: its PEM, to sign
// assertions with, and its public JWK, to register.
type fapiKey struct {
	pem []byte
	jwk map[string]string
}

func newFAPIKey(t *testing.T, rsaKey bool) fapiKey {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	var (
		priv any
		jwk  map[string]string
	)
	if rsaKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		priv, jwk = k, map[string]string{"kty": "RSA", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	} else {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := k.PublicKey.Bytes()
		priv, jwk = k, map[string]string{"kty": "EC", "crv": "P-256", "x": b64(b[1:33]), "y": b64(b[33:])}
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return fapiKey{pem: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), jwk: jwk}
}

func (k fapiKey) client(t *testing.T, id string) domain.Client {
	t.Helper()
	c := clientOf(id, domain.AuthPrivateKeyJWT)
	jwks, err := json.Marshal(map[string]any{"keys": []any{k.jwk}})
	if err != nil {
		t.Fatal(err)
	}
	c.JWKS = string(jwks)
	return c
}

func (k fapiKey) form(t *testing.T, id, tokenURL string) url.Values {
	t.Helper()
	a, err := josekit.SignClientAssertion(k.pem, "", id, tokenURL, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"client_assertion_type": {application.AssertionTypeJWTBearer}, "client_assertion": {a}}
}

// TestFAPI2Profile: with --profile fapi2 the server refuses what the FAPI
// 2.0 Security Profile rules out for a client_credentials server: a
// client secret, a token bound to nothing (at the token endpoint and at
// the resource), RS256 assertions and proofs; and issues sender-constrained
// tokens to private_key_jwt and mTLS clients.
func TestFAPI2Profile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	s := &mtlsSetup{}
	// A FAPI node with mTLS, as startMTLS makes, but signing with ES256.
	s = startMTLSWith(t, func(c *bootstrap.Config) { c.Profile = domain.ProfileFAPI2; c.KeyAlgorithm = domain.ES256 })
	n := s.node
	// What proofs' htu name; requests go to AuthURL. Assertions name the
	// issuer: FAPI 2.0 §5.3.2.1 item 6 allows no other aud.
	tokenURL, issuer := n.Config.Issuer()+"/oauth2/token", n.Config.Issuer()
	es, rs := newFAPIKey(t, false), newFAPIKey(t, true)
	n.register(t, application.RegisterClientInput{Client: es.client(t, "fapi-es")}, application.RegisterClientInput{Client: rs.client(t, "fapi-rs")})
	none, dn := s.client(nil), s.client(&s.dnCert)

	t.Run("client_secret_basic is refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, n.AuthURL+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(jwtClient[0], jwtClient[1])
		wantError(t, send(t, none, req), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("a token bound to nothing is refused", func(t *testing.T) {
		wantError(t, tokenRequest(t, none, n.AuthURL, "fapi-es", es.form(t, "fapi-es", issuer)), http.StatusBadRequest, "invalid_request")
	})
	t.Run("private_key_jwt with ES256 and a DPoP proof gets a DPoP token", func(t *testing.T) {
		key := dpopclient.NewES256()
		req, _ := http.NewRequest(http.MethodPost, n.AuthURL+"/oauth2/token", strings.NewReader(url.Values{
			"grant_type": {"client_credentials"}, "client_id": {"fapi-es"}}.Encode()+"&"+es.form(t, "fapi-es", issuer).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("DPoP", key.Make(dpopclient.Proof{Method: "POST", URL: tokenURL}))
		r := send(t, none, req)
		if r.Status != http.StatusOK || r.JSON(t)["token_type"] != "DPoP" {
			t.Fatalf("token: %d %s, want a DPoP token", r.Status, r.Body)
		}
		if alg := headerOf(t, r.JSON(t)["access_token"].(string))["alg"]; alg != "ES256" {
			t.Errorf("access token signed with %v, want ES256", alg)
		}
	})
	t.Run("a DPoP proof signed with RS256 is refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, n.AuthURL+"/oauth2/token", strings.NewReader(url.Values{
			"grant_type": {"client_credentials"}, "client_id": {"fapi-es"}}.Encode()+"&"+es.form(t, "fapi-es", issuer).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("DPoP", dpopclient.NewRS256().Make(dpopclient.Proof{Method: "POST", URL: tokenURL}))
		wantError(t, send(t, none, req), http.StatusBadRequest, "invalid_dpop_proof")
	})
	t.Run("an assertion addressed to the token endpoint's URL is refused", func(t *testing.T) {
		wantError(t, tokenRequest(t, dn, n.AuthURL, "fapi-es", es.form(t, "fapi-es", tokenURL)), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("an RS256 client assertion is refused", func(t *testing.T) {
		r := tokenRequest(t, dn, n.AuthURL, "fapi-rs", rs.form(t, "fapi-rs", issuer))
		wantError(t, r, http.StatusUnauthorized, "invalid_client")
		wantError(t, r, http.StatusUnauthorized, "PS256, ES256 or EdDSA")
	})
	t.Run("tls_client_auth gets a certificate-bound token", func(t *testing.T) {
		r := tokenRequest(t, dn, n.AuthURL, "mtls-dn", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		wantCountryAUS(t, resourceGet(t, dn, n.ResourceURL, r.JSON(t)["access_token"].(string)))
	})
	t.Run("the metadata lists only what the profile allows", func(t *testing.T) {
		m := send(t, none, mustGet(t, n.AuthURL+"/.well-known/oauth-authorization-server")).JSON(t)
		b, _ := json.Marshal([]any{m["token_endpoint_auth_methods_supported"], m["dpop_signing_alg_values_supported"]})
		if want := `[["private_key_jwt","tls_client_auth","self_signed_tls_client_auth"],["PS256","ES256","EdDSA"]]`; string(b) != want {
			t.Errorf("metadata %s, want %s", b, want)
		}
	})
}

// TestFAPI2ResourceRefusesBearer: a FAPI resource node refuses a bearer
// token of a (non-FAPI) authorization server it trusts.
func TestFAPI2ResourceRefusesBearer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	auth := startNode(t, func(c *bootstrap.Config) { c.Role, c.KeyAlgorithm = bootstrap.RoleAuth, domain.ES256 })
	plain := startNode(t, func(c *bootstrap.Config) {
		c.Role, c.ResourceIssuer = bootstrap.RoleResource, auth.Config.Issuer()
	})
	fapi := startNode(t, func(c *bootstrap.Config) {
		c.Role, c.ResourceIssuer = bootstrap.RoleResource, auth.Config.Issuer()
		c.Profile, c.KeyAlgorithm = domain.ProfileFAPI2, domain.ES256
	})
	token := auth.token(t, jwtClient[0], jwtClient[1], "country.read")
	wantCountryAUS(t, get(t, plain.ResourceURL+"/country/code/AUS", token))
	r := get(t, fapi.ResourceURL+"/country/code/AUS", token)
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("bearer token at a FAPI resource: %d %s %q, want 401 invalid_token", r.Status, r.Body, r.Header.Get("WWW-Authenticate"))
	}
}

// TestFAPI2PerClient: on a server without the profile, a client
// registered with profile: fapi2 follows it, and the others do not.
func TestFAPI2PerClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	n := startNode(t, nil)
	tokenURL := n.Config.Issuer() + "/oauth2/token"
	rs := newFAPIKey(t, true)
	strict, lax := rs.client(t, "strict"), rs.client(t, "lax")
	strict.Profile = domain.ProfileFAPI2
	n.register(t, application.RegisterClientInput{Client: strict}, application.RegisterClientInput{Client: lax})
	if r := postForm(t, n.AuthURL+"/oauth2/token", withGrant(rs.form(t, "lax", tokenURL)), nil); r.Status != http.StatusOK {
		t.Fatalf("lax client with RS256: %d %s", r.Status, r.Body)
	}
	r := postForm(t, n.AuthURL+"/oauth2/token", withGrant(rs.form(t, "strict", tokenURL)), nil)
	if r.Status != http.StatusUnauthorized || r.JSON(t)["error"] != "invalid_client" || !strings.Contains(string(r.Body), "PS256, ES256 or EdDSA") {
		t.Fatalf("fapi2 client with RS256: %d %s, want 401 invalid_client", r.Status, r.Body)
	}
	// A fapi2 client may not register a client secret method at all.
	bad := clientOf("strict-secret", domain.AuthClientSecretBasic)
	bad.Profile = domain.ProfileFAPI2
	if err := bad.Validate(); err == nil {
		t.Error("a fapi2 client with client_secret_basic was accepted")
	}
}

func withGrant(v url.Values) url.Values {
	v.Set("grant_type", "client_credentials")
	return v
}

// headerOf decodes a JWT's header.
func headerOf(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
