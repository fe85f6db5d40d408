package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/adminclient"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// adminToken is the e2e tests' admin token: 44 characters, as
// `openssl rand -base64 32` makes.
const adminToken = "b2PqVvM0pQyXlY3gF7cS9dK1tR6uW8eZ4hJ2nA5mB0o="

func tokenSHA256() string {
	sum := sha256.Sum256([]byte(adminToken))
	return hex.EncodeToString(sum[:])
}

// adminCall sends an admin API request with an Authorization header, if
// auth is not empty.
func adminCall(t *testing.T, method, u, auth, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(t, req)
}

// tokenFor asks issuer for a token with client_secret_basic; it returns
// the answer, not failing the test.
func tokenFor(t *testing.T, issuer, id, secret, scope string) response {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return postForm(t, issuer+"/oauth2/token", form, []string{id, secret})
}

func accessToken(t *testing.T, r response) string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["access_token"].(string)
}

// auditEvents reads the audit records of a JSON log.
func auditEvents(t *testing.T, logs []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["audit"] == true {
			out = append(out, m)
		}
	}
	return out
}

// TestAdminAPI drives the admin API of a `sigil serve` built from source,
// over the Go client and plain HTTP: a client's whole life, as an operator
// would go through it, checked at the token endpoint, the resource server
// and introspection.
// adminServe is a built sigil serve with both roles and the admin API on,
// with the e2e tests' admin token in tokenFile.
type adminServe struct {
	process                    *serveProcess
	issuer, resource, adminURL string
	tokenFile                  string
}

func startAdminServe(t *testing.T, bin string) adminServe {
	t.Helper()
	a := adminServe{tokenFile: filepath.Join(t.TempDir(), "admin-token")}
	if err := os.WriteFile(a.tokenFile, []byte(adminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	authPort, resourcePort, adminPort := freePort(t), freePort(t), freePort(t)
	a.issuer = "http://localhost:" + strconv.Itoa(authPort) + "/ms-auth-server"
	a.resource = "http://127.0.0.1:" + strconv.Itoa(resourcePort) + "/ms-system/country/code/AUS"
	a.adminURL = "http://127.0.0.1:" + strconv.Itoa(adminPort)
	a.process = startServe(t, bin, "http://127.0.0.1:"+strconv.Itoa(authPort)+"/readyz",
		"SIGIL_AUTH_ADDR=127.0.0.1:"+strconv.Itoa(authPort),
		"SIGIL_RESOURCE_ADDR=127.0.0.1:"+strconv.Itoa(resourcePort),
		"SIGIL_ADMIN_ADDR=127.0.0.1:"+strconv.Itoa(adminPort),
		"SIGIL_ADMIN_TOKEN_FILE="+a.tokenFile,
		"SIGIL_LOG_FORMAT=json")
	waitReady(t, "http://127.0.0.1:"+strconv.Itoa(resourcePort)+"/readyz", a.process.exited)
	return a
}

func TestAdminAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildSigil(t)
	a := startAdminServe(t, bin)
	p, issuer, resource, adminURL := a.process, a.issuer, a.resource, a.adminURL
	if !strings.Contains(p.logs.String(), `"msg":"admin API on"`) {
		t.Errorf("the start log does not say the admin API is on:\n%s", p.logs)
	}

	// Refused without the token and with a wrong one, on loopback too.
	for _, c := range []struct{ auth, challenge string }{
		{"", `Bearer realm="sigil-admin"`},
		{"Bearer " + strings.ToLower(adminToken), `Bearer realm="sigil-admin", error="invalid_token"`},
	} {
		r := adminCall(t, http.MethodGet, adminURL+"/admin/v1/clients", c.auth, "")
		if r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") != c.challenge ||
			r.Header.Get("Content-Type") != "application/problem+json" || bytes.Contains(r.Body, []byte("service-client-jwt")) {
			t.Errorf("auth %q: %d %q %s, want 401 with %q and no client", c.auth, r.Status, r.Header.Get("WWW-Authenticate"), r.Body, c.challenge)
		}
	}
	if r := get(t, adminURL+"/admin/v1/openapi.yaml", ""); r.Status != http.StatusOK || !bytes.HasPrefix(r.Body, []byte("openapi: 3.1")) {
		t.Errorf("openapi.yaml: %d", r.Status)
	}
	if _, err := adminclient.New(adminURL, "wrong", nil).ListClients(t.Context()); !errors.Is(err, adminclient.ErrUnauthorized) {
		t.Errorf("the Go client with a wrong token: %v, want ErrUnauthorized", err)
	}

	ctx := t.Context()
	admin := adminclient.New(adminURL, adminToken, nil)
	in := application.RegisterClientInput{
		Client: domain.Client{
			ID: "reports", TokenFormat: domain.FormatJWT, GrantTypes: []domain.GrantType{domain.GrantClientCredentials},
			AuthMethods:   []domain.AuthMethod{domain.AuthClientSecretBasic},
			AllowedScopes: domain.NewScopes("country.read", "customer.read"), DefaultScopes: domain.NewScopes("country.read"),
		},
		Secrets: []application.SecretSpec{{ID: "first", Secret: "reports-first-secret"}},
	}
	created, err := admin.CreateClient(ctx, in)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.ID != "reports" || len(created.Secrets) != 1 || created.Secrets[0].ID != "first" || created.Secrets[0].Hash != "" {
		t.Errorf("created %+v", created)
	}
	if _, err := admin.CreateClient(ctx, in); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("second create: %v, want ErrConflict", err)
	}
	bad := in
	bad.Client.ID, bad.Client.DefaultScopes = "bad", domain.NewScopes("customer.write")
	if _, err := admin.CreateClient(ctx, bad); !errors.Is(err, domain.ErrInvalidClientMetadata) ||
		!strings.Contains(err.Error(), "default scopes must be among the allowed scopes") {
		t.Errorf("invalid client: %v, want the clients file's message", err)
	}
	opaque := in
	opaque.Client.ID, opaque.Client.TokenFormat = "reports-opaque", domain.FormatOpaque
	if _, err := admin.CreateClient(ctx, opaque); err != nil {
		t.Fatalf("create opaque: %v", err)
	}

	jwt := accessToken(t, tokenFor(t, issuer, "reports", "reports-first-secret", "country.read customer.read"))
	if r := get(t, resource, jwt); r.Status != http.StatusOK {
		t.Fatalf("the new client's JWT at the resource: %d %s", r.Status, r.Body)
	}
	opaqueToken := accessToken(t, tokenFor(t, issuer, "reports-opaque", "reports-first-secret", ""))
	introspect := func(tok string) bool {
		r := postForm(t, issuer+"/oauth2/introspect", url.Values{"token": {tok}}, jwtClient)
		return r.Status == http.StatusOK && r.JSON(t)["active"] == true
	}
	if !introspect(opaqueToken) {
		t.Fatal("the new opaque client's token is not active")
	}

	// Patching the scopes takes effect at once on this node.
	scopes := domain.NewScopes("country.read")
	patched, err := admin.PatchClient(ctx, "reports", application.ClientPatch{Scopes: &scopes})
	if err != nil || patched.AllowedScopes.String() != "country.read" || patched.DefaultScopes.String() != "country.read" {
		t.Fatalf("patch: %+v %v", patched, err)
	}
	if r := tokenFor(t, issuer, "reports", "reports-first-secret", "customer.read"); r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_scope" {
		t.Errorf("a scope patched away: %d %s, want invalid_scope", r.Status, r.Body)
	}

	// A new secret, made by the server, works beside the old one; once
	// the old one is expired it is refused.
	added, err := admin.AddSecret(ctx, "reports", application.SecretSpec{})
	if err != nil || len(added.Secret) < 43 {
		t.Fatalf("add secret: %+v %v", added, err)
	}
	accessToken(t, tokenFor(t, issuer, "reports", added.Secret, ""))
	if _, err := admin.ExpireSecret(ctx, "reports", "first", time.Time{}); err != nil {
		t.Fatalf("expire: %v", err)
	}
	if r := tokenFor(t, issuer, "reports", "reports-first-secret", ""); r.Status != http.StatusUnauthorized {
		t.Errorf("the expired secret: %d %s, want 401", r.Status, r.Body)
	}
	accessToken(t, tokenFor(t, issuer, "reports", added.Secret, ""))

	// Revoking every token of a client: the earlier JWT, cached by the
	// resource server, is refused there, the opaque one is inactive.
	if _, err := admin.RevokeClientTokens(ctx, "reports"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RevokeClientTokens(ctx, "reports-opaque"); err != nil {
		t.Fatal(err)
	}
	if r := get(t, resource, jwt); r.Status != http.StatusUnauthorized {
		t.Errorf("a revoked client's JWT at the resource: %d, want 401", r.Status)
	}
	if introspect(opaqueToken) {
		t.Error("a revoked client's opaque token is still active")
	}
	// Tokens issued after the revocation's second work.
	deadline := time.Now().Add(10 * time.Second)
	for fresh := ""; ; time.Sleep(100 * time.Millisecond) {
		fresh = accessToken(t, tokenFor(t, issuer, "reports", added.Secret, ""))
		if get(t, resource, fresh).Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no token issued after the revocation is accepted")
		}
	}

	keys, err := admin.ListKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].State != domain.KeyActive || keys[0].Private != nil {
		t.Errorf("keys: %+v %v", keys, err)
	}
	rotated, err := admin.RotateKeys(ctx)
	if err != nil || !rotated.Done || rotated.Published == "" {
		t.Fatalf("rotate: %+v %v", rotated, err)
	}
	if res, err := admin.RevokeKey(ctx, rotated.Published); err != nil || !res.Done || res.Plan.Remove != rotated.Published {
		t.Errorf("revoke the published key: %+v %v", res, err)
	}
	if _, err := admin.RevokeKey(ctx, "no-such-kid"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("revoke an unknown key: %v", err)
	}
	if keys, _ := admin.ListKeys(ctx); len(keys) != 1 {
		t.Errorf("keys after revoking the published one: %+v", keys)
	}

	// PUT replaces whole: the opaque client becomes a JWT client.
	replace := opaque
	replace.Client.TokenFormat = domain.FormatJWT
	if res, err := admin.ApplyClient(ctx, replace); err != nil || res.Created || res.Client.TokenFormat != domain.FormatJWT {
		t.Errorf("replace: %+v %v", res, err)
	}

	if err := admin.DeleteClient(ctx, "reports"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.GetClient(ctx, "reports"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a deleted client: %v", err)
	}
	if r := tokenFor(t, issuer, "reports", added.Secret, ""); r.Status != http.StatusUnauthorized {
		t.Errorf("a deleted client's token request: %d, want 401", r.Status)
	}
	list, err := admin.ListClients(ctx)
	if err != nil || len(list) != 3 {
		t.Errorf("clients left: %v %v, want the two demo clients and reports-opaque", list, err)
	}

	var kinds []string
	for _, e := range auditEvents(t, []byte(p.logs.String())) {
		if e["client_id"] == "reports" || e["client_id"] == "reports-opaque" {
			if k := e["event"].(string); k != "token_issued" {
				kinds = append(kinds, k)
			}
		}
	}
	for _, want := range []string{"client_created", "client_changed", "secret_added", "secret_expired", "client_tokens_revoked", "client_deleted"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("no %s audit event; got %v", want, kinds)
		}
	}
	if strings.Contains(p.logs.String(), added.Secret) || strings.Contains(p.logs.String(), adminToken) {
		t.Error("the log holds a secret or the admin token")
	}
}

// Without a token configured the admin API refuses everything, the right
// token included, and says so at start.
func TestAdminAPIIsOffWithoutAToken(t *testing.T) {
	n := startNode(t, nil)
	r := adminCall(t, http.MethodGet, "http://"+n.Config.AdminAddr+"/admin/v1/clients", "Bearer "+adminToken, "")
	if r.Status != http.StatusUnauthorized || !bytes.Contains(r.Body, []byte(`"code":"admin_api_off"`)) {
		t.Errorf("admin API without a token configured: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(n.Logs.String(), "admin API off") {
		t.Error("the start log does not say the admin API is off")
	}
}

// Two nodes over one PostgreSQL and Redis: what the admin API of one
// changes, the other applies as soon as the feed brings it, well before
// its client cache would have expired.
func TestAdminAPIChangesReachTheOtherNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two nodes")
	}
	shared := sharedStorage(t)
	config := func(c *bootstrap.Config) {
		shared(c)
		c.AdminTokenSHA256 = tokenSHA256()
		c.ClientCacheTTL = time.Hour
	}
	a, b := startNode(t, config), startNode(t, config)
	admin := adminclient.New("http://"+a.Config.AdminAddr, adminToken, nil)
	ctx := context.Background()
	in := application.RegisterClientInput{
		Client: domain.Client{
			ID: "feed-client", TokenFormat: domain.FormatJWT, GrantTypes: []domain.GrantType{domain.GrantClientCredentials},
			AuthMethods:   []domain.AuthMethod{domain.AuthClientSecretBasic},
			AllowedScopes: domain.NewScopes("country.read", "customer.read"), DefaultScopes: domain.NewScopes("country.read"),
		},
		Secrets: []application.SecretSpec{{ID: "s", Secret: "feed-client-secret"}},
	}
	if _, err := admin.CreateClient(ctx, in); err != nil {
		t.Fatal(err)
	}
	// b caches the client, and verifies its JWT once, caching that too.
	jwt := accessToken(t, tokenFor(t, b.AuthURL, "feed-client", "feed-client-secret", "country.read customer.read"))
	if r := get(t, b.ResourceURL+"/country/code/AUS", jwt); r.Status != http.StatusOK {
		t.Fatalf("JWT at b: %d", r.Status)
	}

	scopes := domain.NewScopes("country.read")
	if _, err := admin.PatchClient(ctx, "feed-client", application.ClientPatch{Scopes: &scopes}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for tokenFor(t, b.AuthURL, "feed-client", "feed-client-secret", "customer.read").Status != http.StatusBadRequest {
		if time.Now().After(deadline) {
			t.Fatal("b still grants a scope patched away on a, within its hour-long client cache")
		}
		time.Sleep(10 * time.Millisecond)
	}

	if _, err := admin.RevokeClientTokens(ctx, "feed-client"); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, b, jwt, time.Now().Add(5*time.Second))
	waitInactive(t, b, jwt, time.Now().Add(5*time.Second))
}

// Without Redis, a revocation made by a command on the database (the
// CLI's direct mode) reaches a running node by its periodic reload, within
// client-cache-ttl, for the JWTs its resource role verified and cached.
func TestClientRevocationWithoutTheFeedReachesTheNode(t *testing.T) {
	n := startNode(t, func(c *bootstrap.Config) { c.ClientCacheTTL = 200 * time.Millisecond })
	jwt := n.token(t, jwtClient[0], jwtClient[1], "country.read")
	if r := get(t, n.ResourceURL+"/country/code/AUS", jwt); r.Status != http.StatusOK {
		t.Fatalf("JWT: %d", r.Status)
	}
	admin, err := bootstrap.OpenAdmin(t.Context(), n.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.RevokeClientTokens(t.Context(), jwtClient[0]); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, n, jwt, time.Now().Add(10*time.Second))
	waitInactive(t, n, jwt, time.Now().Add(10*time.Second))
}

// With admin-client-ca-file the management listener serves TLS, and the
// admin API admits a client certificate of those CAs as it admits the
// token; a certificate of another CA fails the handshake, and /metrics
// still needs none.
func TestAdminAPIWithClientCertificates(t *testing.T) {
	ca, other, dir := testenv.NewCA(t), testenv.NewCA(t), t.TempDir()
	certFile, keyFile := ca.WriteCert(t, dir, "sigil")
	caFile := filepath.Join(dir, "admin-ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, func(c *bootstrap.Config) {
		c.TLSCertFile, c.TLSKeyFile, c.AdminClientCAFile = certFile, keyFile, caFile
		c.AdminTokenSHA256 = tokenSHA256()
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	clientWith := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}}
	}
	u := "https://" + n.Config.AdminAddr + "/admin/v1/clients"
	status := func(hc *http.Client, auth string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := status(clientWith(ca.IssueClient(t, "operator")), ""); s != http.StatusOK {
		t.Errorf("with a client certificate of the admin CA: %d, want 200", s)
	}
	if s := status(clientWith(), ""); s != http.StatusUnauthorized {
		t.Errorf("without a certificate or token: %d, want 401", s)
	}
	if s := status(clientWith(), "Bearer "+adminToken); s != http.StatusOK {
		t.Errorf("with the token: %d, want 200", s)
	}
	if _, err := clientWith(other.IssueClient(t, "intruder")).Get(u); err == nil {
		t.Error("a certificate of another CA was accepted")
	}
	if res, err := clientWith().Get("https://" + n.Config.AdminAddr + "/metrics"); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("metrics over TLS without a certificate: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	if !strings.Contains(n.Logs.String(), `client_certificate="CN=operator"`) {
		t.Error("the access line does not name the client certificate")
	}
}
