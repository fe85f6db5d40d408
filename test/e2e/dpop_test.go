package e2e_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/test/dpopclient"
	"github.com/sigilauth/sigil/test/testenv"
)

// dpopCluster is two auth nodes behind one issuer and two resource nodes
// behind one public URL, as behind load balancers, sharing PostgreSQL and
// Redis: a proof used at one node must be refused at the other.
type dpopCluster struct {
	auth     [2]*node
	resource [2]*node
	issuer   string
	public   string // the resource nodes' public URL
}

func startDPoPCluster(t *testing.T) *dpopCluster {
	t.Helper()
	_, prefix := testenv.Redis(t)
	dsn := testenv.PostgresDSN(t)
	authPorts := [2]int{freePort(t), freePort(t)}
	resourcePorts := [2]int{freePort(t), freePort(t)}
	cl := &dpopCluster{
		issuer: "http://localhost:" + strconv.Itoa(authPorts[0]) + "/ms-auth-server",
		public: "http://localhost:" + strconv.Itoa(resourcePorts[0]) + "/ms-system",
	}
	shared := func(c *bootstrap.Config) {
		c.DatabaseDriver, c.DatabaseDSN = "postgres", dsn
		c.KeyEncryptionKey = testKEK
		c.RedisAddr, c.RedisPrefix = testenv.RedisAddr(), prefix
		c.DemoClients = "true"
		c.AuthIssuer = cl.issuer
		c.ResourcePublicURL = cl.public
	}
	for i := range cl.auth {
		cl.auth[i] = startNode(t, func(c *bootstrap.Config) {
			shared(c)
			c.Role = bootstrap.RoleAuth
			c.AuthAddr = "127.0.0.1:" + strconv.Itoa(authPorts[i])
		})
	}
	for i := range cl.resource {
		a := cl.auth[i]
		cl.resource[i] = startNode(t, func(c *bootstrap.Config) {
			shared(c)
			c.Role = bootstrap.RoleResource
			c.ResourceAddr = "127.0.0.1:" + strconv.Itoa(resourcePorts[i])
			c.ResourceJWKSURL = a.AuthURL + "/oauth2/jwks"
			c.ResourceIntrospectionURL = a.AuthURL + "/oauth2/introspect"
		})
	}
	return cl
}

// dpopToken asks n for a token with proof and returns the answer.
func dpopTokenRequest(t *testing.T, n *node, client, secret, proof string) response {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {client}, "client_secret": {secret}}
	req, err := http.NewRequest(http.MethodPost, n.AuthURL+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	return do(t, req)
}

// dpopGet sends GET u with the token under scheme and the proof, if any.
func dpopGet(t *testing.T, u, scheme, token, proof string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", scheme+" "+token)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	return do(t, req)
}

func TestDPoPAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four nodes")
	}
	cl := startDPoPCluster(t)
	key := dpopclient.NewES256()
	tokenURL := cl.issuer + "/oauth2/token"

	meta := get(t, cl.auth[0].AuthURL+"/.well-known/oauth-authorization-server", "").JSON(t)
	if algs, _ := meta["dpop_signing_alg_values_supported"].([]any); !slices.Contains(algs, any("ES256")) || slices.Contains(algs, any("HS256")) {
		t.Errorf("dpop_signing_alg_values_supported = %v", meta["dpop_signing_alg_values_supported"])
	}

	for _, c := range []struct{ name, client, secret string }{
		{"jwt", "service-client-jwt", "service-client-jwt-secret"},
		{"opaque", "user-client-opaque", "user-client-secret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			proof := key.Make(dpopclient.Proof{Method: "POST", URL: tokenURL})
			r := dpopTokenRequest(t, cl.auth[0], c.client, c.secret, proof)
			body := r.JSON(t)
			if r.Status != http.StatusOK || body["token_type"] != "DPoP" {
				t.Fatalf("DPoP token request: %d %s", r.Status, r.Body)
			}
			token := body["access_token"].(string)

			// The same proof at the other auth node: its jti was used.
			r = dpopTokenRequest(t, cl.auth[1], c.client, c.secret, proof)
			if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_dpop_proof" || r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("replayed proof at the other auth node: %d %s", r.Status, r.Body)
			}

			// Introspection tells the binding (RFC 9449 §6.2).
			in := postForm(t, cl.auth[1].AuthURL+"/oauth2/introspect", url.Values{"token": {token}},
				[]string{"service-client-jwt", "service-client-jwt-secret"}).JSON(t)
			if cnf, _ := in["cnf"].(map[string]any); in["token_type"] != "DPoP" || cnf["jkt"] != key.JKT {
				t.Errorf("introspection = %v, want token_type DPoP and cnf.jkt %s", in, key.JKT)
			}

			aus := cl.public + "/country/code/AUS"
			good := key.Make(dpopclient.Proof{Method: "GET", URL: aus, AccessToken: token})
			if r := dpopGet(t, cl.resource[0].ResourceURL+"/country/code/AUS", "DPoP", token, good); r.Status != http.StatusOK {
				t.Fatalf("DPoP GET: %d %s %v", r.Status, r.Body, r.Header.Values("WWW-Authenticate"))
			}
			// Replayed at the other resource node, behind the same URL.
			r = dpopGet(t, cl.resource[1].ResourceURL+"/country/code/AUS", "DPoP", token, good)
			if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `DPoP error="invalid_dpop_proof"`) {
				t.Errorf("replayed proof at the other resource node: %d %v", r.Status, r.Header.Values("WWW-Authenticate"))
			}
			// A fresh proof there is fine.
			fresh := key.Make(dpopclient.Proof{Method: "GET", URL: aus, AccessToken: token})
			if r := dpopGet(t, cl.resource[1].ResourceURL+"/country/code/AUS", "DPoP", token, fresh); r.Status != http.StatusOK {
				t.Errorf("fresh proof at the other resource node: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestDPoPRefusals sends each broken proof over HTTP to one node with
// both roles (SQLite, no Redis: proofs at the resource kept in memory).
func TestDPoPRefusals(t *testing.T) {
	n := startNode(t, nil)
	key, other := dpopclient.NewES256(), dpopclient.NewES256()
	// The token endpoint's URL as the metadata names it, under the
	// issuer (localhost), whatever address the request went to.
	tokenURL := n.Config.Issuer() + "/oauth2/token"
	r := dpopTokenRequest(t, n, "service-client-jwt", "service-client-jwt-secret", key.Make(dpopclient.Proof{Method: "POST", URL: tokenURL}))
	if r.Status != http.StatusOK {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	token := r.JSON(t)["access_token"].(string)
	aus := n.ResourceURL + "/country/code/AUS"
	ok := dpopclient.Proof{Method: "GET", URL: aus, AccessToken: token}
	with := func(k *dpopclient.Key, change func(*dpopclient.Proof)) string {
		p := ok
		change(&p)
		return k.Make(p)
	}
	replayed := key.Make(ok)
	if r := dpopGet(t, aus, "DPoP", token, replayed); r.Status != http.StatusOK {
		t.Fatalf("good proof: %d %s", r.Status, r.Body)
	}
	same := func(*dpopclient.Proof) {}
	tests := []struct {
		name, scheme, proof, code string
	}{
		{"proof for another method", "DPoP", with(key, func(p *dpopclient.Proof) { p.Method = "POST" }), "invalid_dpop_proof"},
		{"proof for another URL", "DPoP", with(key, func(p *dpopclient.Proof) { p.URL = n.ResourceURL + "/country" }), "invalid_dpop_proof"},
		{"stale iat", "DPoP", with(key, func(p *dpopclient.Proof) { p.IssuedAt = time.Now().Add(-2 * time.Minute) }), "invalid_dpop_proof"},
		{"future iat", "DPoP", with(key, func(p *dpopclient.Proof) { p.IssuedAt = time.Now().Add(2 * time.Minute) }), "invalid_dpop_proof"},
		{"replayed jti", "DPoP", replayed, "invalid_dpop_proof"},
		{"wrong ath", "DPoP", with(key, func(p *dpopclient.Proof) { p.AccessToken = token + "x" }), "invalid_dpop_proof"},
		{"a key that is not the token's", "DPoP", with(other, same), "invalid_token"},
		{"alg none", "DPoP", with(key, func(p *dpopclient.Proof) { p.Alg = "none" }), "invalid_dpop_proof"},
		{"alg HS256", "DPoP", with(key, func(p *dpopclient.Proof) { p.Alg = "HS256" }), "invalid_dpop_proof"},
		{"private key in the header", "DPoP", with(key, func(p *dpopclient.Proof) { p.Header = map[string]any{"jwk": key.Private()} }), "invalid_dpop_proof"},
		{"missing typ", "DPoP", with(key, func(p *dpopclient.Proof) { p.Header = map[string]any{"typ": nil} }), "invalid_dpop_proof"},
		{"bad signature", "DPoP", with(key, func(p *dpopclient.Proof) { p.BadSignature = true }), "invalid_dpop_proof"},
		{"bound token as Bearer", "Bearer", with(key, same), "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dpopGet(t, aus, tt.scheme, token, tt.proof)
			if r.Status != http.StatusUnauthorized || r.JSON(t)["error"] != tt.code {
				t.Fatalf("%d %s, want 401 %s", r.Status, r.Body, tt.code)
			}
			// Both schemes are advertised, the one used first (RFC 9449 §7.1).
			ch := r.Header.Values("WWW-Authenticate")
			first := tt.scheme + ` error="` + tt.code + `"`
			if len(ch) != 2 || !strings.HasPrefix(ch[0], first) {
				t.Errorf("WWW-Authenticate = %q, want %s... first and the other scheme after it", ch, first)
			}
			if tt.scheme == "DPoP" && !strings.HasSuffix(ch[0], `algs="ES256 ES384 EdDSA PS256 RS256"`) {
				t.Errorf("DPoP challenge %q does not list the algorithms", ch[0])
			}
		})
	}

	t.Run("no token: the seeds' Bearer challenge first", func(t *testing.T) {
		r := get(t, aus, "")
		if ch := r.Header.Values("WWW-Authenticate"); r.Status != http.StatusUnauthorized || len(ch) != 2 || !strings.HasPrefix(ch[0], `Bearer resource_metadata="`) ||
			ch[1] != `DPoP algs="ES256 ES384 EdDSA PS256 RS256"` {
			t.Errorf("%d WWW-Authenticate = %q", r.Status, ch)
		}
	})

	t.Run("token endpoint refusals", func(t *testing.T) {
		for name, proof := range map[string]string{
			"proof for the introspection endpoint": key.Make(dpopclient.Proof{Method: "POST", URL: n.Config.Issuer() + "/oauth2/introspect"}),
			"alg none":                             key.Make(dpopclient.Proof{Method: "POST", URL: tokenURL, Alg: "none"}),
			"private key in the header":            key.Make(dpopclient.Proof{Method: "POST", URL: tokenURL, Header: map[string]any{"jwk": key.Private()}}),
		} {
			r := dpopTokenRequest(t, n, "service-client-jwt", "service-client-jwt-secret", proof)
			if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_dpop_proof" {
				t.Errorf("%s: %d %s", name, r.Status, r.Body)
			}
		}
	})
}

// TestDPoPNoncesAcrossAuthNodes: with dpop-nonce, a nonce one auth node
// hands out is accepted by another sharing the key-encryption key.
func TestDPoPNoncesAcrossAuthNodes(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	port := freePort(t)
	issuer := "http://localhost:" + strconv.Itoa(port) + "/ms-auth-server"
	var nodes [2]*node
	for i := range nodes {
		nodes[i] = startNode(t, func(c *bootstrap.Config) {
			c.DatabaseDriver, c.DatabaseDSN, c.KeyEncryptionKey = "postgres", dsn, testKEK
			c.DemoClients, c.AuthIssuer, c.DPoPNonce = "true", issuer, true
			c.Role = bootstrap.RoleAuth
			if i == 0 {
				c.AuthAddr = "127.0.0.1:" + strconv.Itoa(port)
			}
		})
	}
	key := dpopclient.NewES256()
	tokenURL := issuer + "/oauth2/token"
	r := dpopTokenRequest(t, nodes[0], "service-client-jwt", "service-client-jwt-secret", key.Make(dpopclient.Proof{Method: "POST", URL: tokenURL}))
	nonce := r.Header.Get("DPoP-Nonce")
	if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("proof without a nonce: %d %s, DPoP-Nonce %q", r.Status, r.Body, nonce)
	}
	r = dpopTokenRequest(t, nodes[1], "service-client-jwt", "service-client-jwt-secret", key.Make(dpopclient.Proof{Method: "POST", URL: tokenURL, Nonce: nonce}))
	if r.Status != http.StatusOK || r.JSON(t)["token_type"] != "DPoP" {
		t.Errorf("proof with the other node's nonce: %d %s", r.Status, r.Body)
	}
	r = dpopTokenRequest(t, nodes[1], "service-client-jwt", "service-client-jwt-secret", key.Make(dpopclient.Proof{Method: "POST", URL: tokenURL, Nonce: "made-up"}))
	if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "use_dpop_nonce" {
		t.Errorf("proof with a made-up nonce: %d %s", r.Status, r.Body)
	}
}
