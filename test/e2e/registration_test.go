package e2e_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/bootstrap"
)

const registrationIAT = "e2e-initial-access-token-0123456789abcdef"

// statementSigner is a software statement issuer the test owns.
type statementSigner struct {
	key *ecdsa.PrivateKey
	kid string
}

func newStatementSigner(t *testing.T, kid string) statementSigner {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return statementSigner{key: k, kid: kid}
}

// jwksFile writes the signer's public key as a JWK Set file.
func (s statementSigner) jwksFile(t *testing.T) string {
	t.Helper()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.key.PublicKey, KeyID: s.kid, Algorithm: "ES256", Use: "sig"}}}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "statement-signers.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (s statementSigner) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: s.key, KeyID: s.kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// registrationNode is a node with registration guarded by registrationIAT
// and software statements trusted from signer.
func registrationNode(t *testing.T, signer statementSigner) *node {
	sum := sha256.Sum256([]byte(registrationIAT))
	keys := signer.jwksFile(t)
	return startNode(t, func(c *bootstrap.Config) {
		c.RegistrationTokenSHA256 = hex.EncodeToString(sum[:])
		c.RegistrationStatementKeys = keys
		c.RegistrationScopes = "country.read customer.read"
	})
}

// sendJSON sends body (nil for none) with a bearer token (empty for none).
func sendJSON(t *testing.T, method, u, bearer string, body any) response {
	t.Helper()
	var r *bytes.Reader
	switch b := body.(type) {
	case nil:
		r = bytes.NewReader(nil)
	case string:
		r = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return do(t, req)
}

// TestDynamicRegistration: a client registers itself, gets a token and
// reaches the resource; reads, replaces and deletes its registration with
// its registration access token; and is gone after.
func TestDynamicRegistration(t *testing.T) {
	signer := newStatementSigner(t, "vendor-1")
	n := registrationNode(t, signer)
	endpoint := n.AuthURL + "/oauth2/register"

	meta := get(t, strings.Replace(n.AuthURL, "/ms-auth-server", "", 1)+"/.well-known/oauth-authorization-server/ms-auth-server", "").JSON(t)
	if meta["registration_endpoint"] != "http://localhost:"+portOf(n.AuthURL)+"/ms-auth-server/oauth2/register" {
		t.Errorf("registration_endpoint = %v", meta["registration_endpoint"])
	}

	r := sendJSON(t, http.MethodPost, endpoint, registrationIAT, map[string]any{
		"client_name": "e2e", "scope": "country.read", "token_endpoint_auth_method": "client_secret_post",
		"redirect_uris": []string{"https://ignored.example/cb"},
	})
	if r.Status != http.StatusCreated || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	reg := r.JSON(t)
	id, secret, rat := reg["client_id"].(string), reg["client_secret"].(string), reg["registration_access_token"].(string)
	uri := reg["registration_client_uri"].(string)
	if reg["client_secret_expires_at"] != float64(0) || reg["client_id_issued_at"] == nil || reg["scope"] != "country.read" ||
		!strings.HasSuffix(uri, "/oauth2/register/"+id) || reg["redirect_uris"] != nil {
		t.Errorf("registration answer %s", r.Body)
	}

	tok := n.token(t, id, secret, "country.read")
	wantCountryAUS(t, get(t, n.ResourceURL+"/country/code/AUS", tok))

	u := n.AuthURL + "/oauth2/register/" + id // the configuration endpoint as served here
	if r := sendJSON(t, http.MethodGet, u, rat, nil); r.Status != http.StatusOK || r.JSON(t)["client_name"] != "e2e" || r.JSON(t)["client_secret"] != nil {
		t.Fatalf("read: %d %s", r.Status, r.Body)
	}
	r = sendJSON(t, http.MethodPut, u, rat, map[string]any{
		"client_id": id, "client_name": "e2e renamed", "scope": "customer.read", "token_endpoint_auth_method": "client_secret_basic",
	})
	if r.Status != http.StatusOK || r.JSON(t)["scope"] != "customer.read" || r.JSON(t)["client_name"] != "e2e renamed" {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	}
	// The secret stays; the scope changed; basic is the method now.
	if r := postForm(t, n.AuthURL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"country.read"}},
		[]string{id, secret}); r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_scope" {
		t.Errorf("old scope after replace: %d %s", r.Status, r.Body)
	}
	if r := postForm(t, n.AuthURL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, []string{id, secret}); r.Status != http.StatusOK {
		t.Errorf("token after replace: %d %s", r.Status, r.Body)
	}

	if r := sendJSON(t, http.MethodDelete, u, rat, nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := sendJSON(t, http.MethodGet, u, rat, nil); r.Status != http.StatusUnauthorized || r.JSON(t)["error"] != "invalid_token" {
		t.Errorf("read after delete: %d %s", r.Status, r.Body)
	}
	// JWTs are checked without the registry: the token issued before the
	// delete is revoked with the client (DeleteClient).
	deadline := time.Now().Add(10 * time.Second)
	for get(t, n.ResourceURL+"/country/code/AUS", tok).Status == http.StatusOK && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if r := get(t, n.ResourceURL+"/country/code/AUS", tok); r.Status != http.StatusUnauthorized {
		t.Errorf("deleted client's token at the resource: %d", r.Status)
	}
	if r := postForm(t, n.AuthURL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, []string{id, secret}); r.Status != http.StatusUnauthorized {
		t.Errorf("token for a deleted client: %d %s", r.Status, r.Body)
	}
}

func portOf(u string) string {
	p, _ := url.Parse(u)
	return p.Port()
}

// TestDynamicRegistrationSoftwareStatement: a trusted issuer's statement
// overrides the request's metadata.
func TestDynamicRegistrationSoftwareStatement(t *testing.T) {
	signer := newStatementSigner(t, "vendor-1")
	n := registrationNode(t, signer)
	stmt := signer.sign(t, map[string]any{"iss": "https://vendor.example", "software_id": "svc-42", "client_name": "vendor svc",
		"scope": "customer.read", "sigil_token_format": "opaque"})
	r := sendJSON(t, http.MethodPost, n.AuthURL+"/oauth2/register", registrationIAT, map[string]any{
		"client_name": "mine", "scope": "country.read", "software_statement": stmt,
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	reg := r.JSON(t)
	if reg["client_name"] != "vendor svc" || reg["scope"] != "customer.read" || reg["software_id"] != "svc-42" || reg["sigil_token_format"] != "opaque" {
		t.Errorf("statement did not override: %s", r.Body)
	}
	r = postForm(t, n.AuthURL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}},
		[]string{reg["client_id"].(string), reg["client_secret"].(string)})
	if r.Status != http.StatusOK {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	if tok := r.JSON(t)["access_token"].(string); strings.Contains(tok, ".") {
		t.Errorf("token %q is a JWT, want opaque as the statement said", tok)
	}
}

// TestDynamicRegistrationRefusals: each refusal with the code and status
// RFC 7591 §3.2.2 and RFC 7592 give it, and no client left behind.
func TestDynamicRegistrationRefusals(t *testing.T) {
	signer := newStatementSigner(t, "vendor-1")
	n := registrationNode(t, signer)
	endpoint := n.AuthURL + "/oauth2/register"
	stranger := newStatementSigner(t, "stranger")
	claims := map[string]any{"iss": "https://vendor.example", "scope": "country.read"}
	trusted := signer.sign(t, claims)
	parts := strings.Split(trusted, ".")
	unsigned := "eyJhbGciOiJub25lIn0." + parts[1] + "."
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))

	tests := []struct {
		name   string
		token  string
		body   any
		status int
		code   string
	}{
		{"no initial token", "", map[string]any{}, 401, "invalid_token"},
		{"wrong initial token", registrationIAT + "x", map[string]any{}, 401, "invalid_token"},
		{"not JSON", registrationIAT, "client_name=x", 400, "invalid_client_metadata"},
		{"not JSON, no token", "", "client_name=x", 401, "invalid_token"},
		{"member of the wrong type", registrationIAT, `{"scope":["country.read"]}`, 400, "invalid_client_metadata"},
		{"auth method none", registrationIAT, map[string]any{"token_endpoint_auth_method": "none"}, 400, "invalid_client_metadata"},
		{"unsupported grant", registrationIAT, map[string]any{"grant_types": []string{"authorization_code"}}, 400, "invalid_client_metadata"},
		{"scope above the ceiling", registrationIAT, map[string]any{"scope": "customer.write"}, 400, "invalid_client_metadata"},
		{"bad token format", registrationIAT, map[string]any{"sigil_token_format": "paseto"}, 400, "invalid_client_metadata"},
		{"private_key_jwt without keys", registrationIAT, map[string]any{"token_endpoint_auth_method": "private_key_jwt"}, 400, "invalid_client_metadata"},
		{"jwks not a key set", registrationIAT, map[string]any{"token_endpoint_auth_method": "private_key_jwt", "jwks": map[string]any{"keys": "x"}}, 400, "invalid_client_metadata"},
		{"relative resource", registrationIAT, map[string]any{"resources": []string{"/api"}}, 400, "invalid_client_metadata"},
		{"statement not a JWT", registrationIAT, map[string]any{"software_statement": "abc"}, 400, "invalid_software_statement"},
		{"unsigned statement", registrationIAT, map[string]any{"software_statement": unsigned}, 400, "invalid_software_statement"},
		{"badly signed statement", registrationIAT, map[string]any{"software_statement": tampered}, 400, "invalid_software_statement"},
		{"untrusted statement", registrationIAT, map[string]any{"software_statement": stranger.sign(t, claims)}, 400, "unapproved_software_statement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sendJSON(t, http.MethodPost, endpoint, tt.token, tt.body)
			if r.Status != tt.status || r.JSON(t)["error"] != tt.code || r.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Body, tt.status, tt.code)
			}
			if ch := r.Header.Get("WWW-Authenticate"); (tt.status == 401) != strings.HasPrefix(ch, `Bearer error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q with %d", ch, tt.status)
			}
		})
	}

	// Management with anything but the client's own registration token.
	a := sendJSON(t, http.MethodPost, endpoint, registrationIAT, map[string]any{}).JSON(t)
	b := sendJSON(t, http.MethodPost, endpoint, registrationIAT, map[string]any{}).JSON(t)
	u := endpoint + "/" + a["client_id"].(string)
	for name, tok := range map[string]string{
		"none": "", "wrong": "x", "another client's": b["registration_access_token"].(string), "the initial token": registrationIAT,
	} {
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			r := sendJSON(t, m, u, tok, map[string]any{"client_id": a["client_id"]})
			if r.Status != http.StatusUnauthorized || r.JSON(t)["error"] != "invalid_token" ||
				!strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Bearer error="invalid_token"`) {
				t.Errorf("%s %s token: %d %s %q, want 401 invalid_token with its challenge", m, name, r.Status, r.Body, r.Header.Get("WWW-Authenticate"))
			}
		}
	}
	if r := sendJSON(t, http.MethodGet, u, a["registration_access_token"].(string), nil); r.Status != http.StatusOK {
		t.Errorf("client gone after refused management: %d %s", r.Status, r.Body)
	}
	r := sendJSON(t, http.MethodPut, u, a["registration_access_token"].(string), map[string]any{"client_id": b["client_id"]})
	if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_client_metadata" {
		t.Errorf("replace naming another client: %d %s", r.Status, r.Body)
	}
}

// TestRegistrationOffByDefault: without an initial token or
// registration-open the endpoint is not there and not advertised.
func TestRegistrationOffByDefault(t *testing.T) {
	n := startNode(t, nil)
	if r := sendJSON(t, http.MethodPost, n.AuthURL+"/oauth2/register", "", map[string]any{}); r.Status != http.StatusNotFound {
		t.Errorf("register with registration off: %d %s", r.Status, r.Body)
	}
	if meta := get(t, n.AuthURL+"/.well-known/oauth-authorization-server", "").JSON(t); meta["registration_endpoint"] != nil {
		t.Errorf("registration_endpoint advertised while off: %v", meta["registration_endpoint"])
	}
}

// TestRegistrationOpen: registration-open needs no initial token.
func TestRegistrationOpen(t *testing.T) {
	n := startNode(t, func(c *bootstrap.Config) { c.RegistrationOpen = true })
	if r := sendJSON(t, http.MethodPost, n.AuthURL+"/oauth2/register", "", map[string]any{"scope": "country.read"}); r.Status != http.StatusCreated {
		t.Fatalf("open registration: %d %s", r.Status, r.Body)
	}
}
