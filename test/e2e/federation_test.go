package e2e_test

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// k8sIssuer is a loopback stand-in for a Kubernetes API server's service
// account issuer: a discovery document and a JWKS, as
// --service-account-issuer and --service-account-jwks-uri publish them.
type k8sIssuer struct {
	url     string
	key     assertionKey
	fetches atomic.Int32
}

func newK8sIssuer(t *testing.T) *k8sIssuer {
	t.Helper()
	k := &k8sIssuer{key: newAssertionKey(t, "sa-key-1")}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	k.url = srv.URL
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issuer":"` + srv.URL + `","jwks_uri":"` + srv.URL + `/openid/v1/jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["ES256"]}`))
	})
	mux.HandleFunc("/openid/v1/jwks", func(w http.ResponseWriter, _ *http.Request) {
		k.fetches.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write([]byte(k.key.set))
	})
	return k
}

// token is a projected service account token for account, signed with
// jwx (a library Sigil did not write) and with the claims kubelet's
// TokenRequest gives.
func (k *k8sIssuer) token(t *testing.T, account, aud string, lifetime time.Duration) string {
	t.Helper()
	now := time.Now()
	ns, name, _ := strings.Cut(account, "/")
	tok := jwt.New()
	for c, v := range map[string]any{
		jwt.IssuerKey: k.url, jwt.SubjectKey: "system:serviceaccount:" + ns + ":" + name, jwt.AudienceKey: []string{aud},
		jwt.IssuedAtKey: now, jwt.NotBeforeKey: now, jwt.ExpirationKey: now.Add(lifetime), jwt.JwtIDKey: rand.Text(),
		"kubernetes.io": map[string]any{
			"namespace":      ns,
			"serviceaccount": map[string]string{"name": name, "uid": "0b4f4c1e-5d0a-4f1e-9a51-6f3b2a1c0d9e"},
			"pod":            map[string]string{"name": name + "-5c7d9", "uid": "9f8e7d6c-1a2b-3c4d-5e6f-708192a3b4c5"},
		},
	} {
		if err := tok.Set(c, v); err != nil {
			t.Fatal(err)
		}
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), k.key.priv))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func writeFederationFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "federation.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFederatedKubernetesServiceAccount(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	k8s := newK8sIssuer(t)
	file := writeFederationFile(t, `
issuers:
  - issuer: `+k8s.url+`
    max_lifetime: 1h
    clients:
      - client: orders
        sub: system:serviceaccount:shop:orders
`)
	n := startNode(t, func(c *bootstrap.Config) { c.FederationFile = file })
	n.register(t, application.RegisterClientInput{Client: clientOf("orders", domain.AuthFederatedJWT)})
	aud := n.Config.Issuer()

	// As a client assertion (RFC 7523 §2.2), with no client_id: the token
	// says who the client is.
	sa := k8s.token(t, "shop/orders", aud, 10*time.Minute)
	r := postForm(t, n.AuthURL+"/oauth2/token", assertionForm(sa), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("assertion: %d %s", r.Status, r.Body)
	}
	if c := claimsOf(t, r.JSON(t)["access_token"].(string)); c["client_id"] != "orders" || c["sub"] != "orders" {
		t.Fatalf("token claims %v", c)
	}
	// Its jti is single use.
	if r := postForm(t, n.AuthURL+"/oauth2/token", assertionForm(sa), nil); r.Status != http.StatusUnauthorized || r.JSON(t)["error"] != "invalid_client" {
		t.Fatalf("replayed assertion: %d %s", r.Status, r.Body)
	}

	// As the JWT bearer grant (RFC 7523 §2.1).
	grant := func(assertion string) response {
		return postForm(t, n.AuthURL+"/oauth2/token", url.Values{
			"grant_type": {application.GrantTypeJWTBearer}, "assertion": {assertion}, "scope": {"country.read"},
		}, nil)
	}
	if r := grant(k8s.token(t, "shop/orders", aud+"/oauth2/token", 10*time.Minute)); r.Status != http.StatusOK || r.JSON(t)["scope"] != "country.read" {
		t.Fatalf("grant: %d %s", r.Status, r.Body)
	}
	for name, tok := range map[string]string{
		"wrong aud":          k8s.token(t, "shop/orders", "https://elsewhere.example", 10*time.Minute),
		"unmapped account":   k8s.token(t, "shop/intruder", aud, 10*time.Minute),
		"too long a life":    k8s.token(t, "shop/orders", aud, 48*time.Hour),
		"expired":            k8s.token(t, "shop/orders", aud, -time.Hour),
		"another issuer key": assertion(t, newAssertionKey(t, "sa-key-1").priv, jwa.ES256(), k8s.url, aud, time.Now().Add(time.Minute)),
	} {
		if r := grant(tok); r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_grant" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}

	// The metadata advertises the grant.
	meta := get(t, n.AuthURL+"/.well-known/oauth-authorization-server", "").JSON(t)
	grants, _ := meta["grant_types_supported"].([]any)
	if !slices.Contains(grants, any(application.GrantTypeJWTBearer)) {
		t.Errorf("grant_types_supported %v lacks the jwt-bearer grant", grants)
	}
	if got := k8s.fetches.Load(); got != 1 {
		t.Errorf("the issuer's JWKS was fetched %d times, want once", got)
	}
}

func TestBrokenFederationFileStopsTheStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	file := writeFederationFile(t, "issuers:\n  - issuer: https://k8s.example\n    algorithms: [HS256]\n    clients: [{client: a, sub: b}]\n")
	n, err := newNode(t, func(c *bootstrap.Config) { c.FederationFile = file })
	if err == nil {
		err = n.Start()
	}
	if err == nil || !strings.Contains(err.Error(), `issuer 1 (https://k8s.example): algorithm "HS256" not allowed`) {
		t.Fatalf("start with a broken federation file: %v", err)
	}
}
