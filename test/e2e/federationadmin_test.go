package e2e_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// TestTrustRelationshipThroughTheAdminAPI: two auth nodes share one
// PostgreSQL database and one Redis, neither with a federation file. An
// issuer trusted through the admin API of the first authenticates a
// federated_jwt client on both, without a restart; a change of its
// mapping and its removal reach both too, and the JWT bearer grant is
// advertised only while an issuer is trusted.
func TestTrustRelationshipThroughTheAdminAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	k8s := newK8sIssuer(t)
	_, prefix := testenv.Redis(t)
	dsn := testenv.PostgresDSN(t)
	ports := [2]int{freePort(t), freePort(t)}
	issuer := "http://localhost:" + strconv.Itoa(ports[0]) + "/ms-auth-server"
	var nodes [2]*node
	for i := range nodes {
		nodes[i] = startNode(t, func(c *bootstrap.Config) {
			c.Role = bootstrap.RoleAuth
			c.AuthAddr = "127.0.0.1:" + strconv.Itoa(ports[i])
			c.AuthIssuer = issuer
			c.DatabaseDriver, c.DatabaseDSN, c.KeyEncryptionKey = "postgres", dsn, testKEK
			c.RedisAddr, c.RedisPrefix = testenv.RedisAddr(), prefix
			c.AdminTokenSHA256 = tokenSHA256()
		})
	}
	nodes[0].register(t, application.RegisterClientInput{Client: clientOf("orders", domain.AuthFederatedJWT)})
	entry := "http://" + nodes[0].Config.AdminAddr + "/admin/v1/federation/issuers/" + url.PathEscape(k8s.url)
	auth := "Bearer " + adminToken

	authenticates := func(n *node, account string) bool {
		r := postForm(t, n.AuthURL+"/oauth2/token", assertionForm(k8s.token(t, account, issuer, 10*time.Minute)), nil)
		return r.Status == http.StatusOK
	}
	advertises := func(n *node) bool {
		grants, _ := get(t, n.AuthURL+"/.well-known/oauth-authorization-server", "").JSON(t)["grant_types_supported"].([]any)
		return slices.Contains(grants, any(application.GrantTypeJWTBearer))
	}
	for i, n := range nodes {
		if authenticates(n, "shop/orders") || advertises(n) {
			t.Fatalf("node %d trusts the issuer before it is added", i)
		}
	}

	// Refused entries change nothing.
	if r := adminCall(t, http.MethodPut, entry, auth, `{"algorithms":["HS256"],"clients":[{"client":"orders","sub":"x"}]}`); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(r.Body), `algorithm \"HS256\" not allowed`) {
		t.Fatalf("HMAC entry: %d %s", r.Status, r.Body)
	}
	if r := adminCall(t, http.MethodPut, entry, "", `{}`); r.Status != http.StatusUnauthorized {
		t.Fatalf("without the admin token: %d %s", r.Status, r.Body)
	}

	put := func(sub string) int {
		r := adminCall(t, http.MethodPut, entry, auth, `{"max_lifetime":"1h","clients":[{"client":"orders","sub":"`+sub+`"}]}`)
		if r.Status != http.StatusCreated && r.Status != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", entry, r.Status, r.Body)
		}
		return r.Status
	}
	if s := put("system:serviceaccount:shop:orders"); s != http.StatusCreated {
		t.Fatalf("first PUT: %d, want 201", s)
	}
	for i, n := range nodes {
		waitFor(t, "node "+strconv.Itoa(i)+" to trust the issuer", func() bool { return authenticates(n, "shop/orders") })
		if !advertises(n) {
			t.Errorf("node %d does not advertise the jwt-bearer grant while an issuer is trusted", i)
		}
	}
	if got := k8s.fetches.Load(); got != 2 {
		t.Errorf("the issuer's JWKS was fetched %d times, want once per node", got)
	}
	// The API's JSON is the entry `sigil federation get -o json` prints
	// (bootstrap.FederationEntry), so what one writes the other reads.
	r := adminCall(t, http.MethodGet, entry, auth, "")
	cli, _ := json.Marshal(bootstrap.FederationEntryOf(application.FederatedIssuerSpec{Issuer: k8s.url, MaxLifetime: "1h",
		Clients: []application.FederationMapping{{Client: "orders", Subject: "system:serviceaccount:shop:orders"}}}))
	var fromAPI, fromCLI map[string]any
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &fromAPI) != nil || json.Unmarshal(cli, &fromCLI) != nil || !reflect.DeepEqual(fromAPI, fromCLI) {
		t.Errorf("GET %s: %d %s\nwant the command line's entry %s", entry, r.Status, r.Body, cli)
	}

	// Changed: another service account is the client now. The issuer's
	// keys are the same, and stay cached.
	if s := put("system:serviceaccount:shop:orders-v2"); s != http.StatusOK {
		t.Fatalf("second PUT: %d, want 200", s)
	}
	for i, n := range nodes {
		waitFor(t, "node "+strconv.Itoa(i)+" to refuse the old account", func() bool { return !authenticates(n, "shop/orders") })
		if !authenticates(n, "shop/orders-v2") {
			t.Errorf("node %d refuses the new account", i)
		}
	}
	if got := k8s.fetches.Load(); got != 2 {
		t.Errorf("after a change of mapping the JWKS was fetched %d times in all, want still once per node", got)
	}

	if r := adminCall(t, http.MethodDelete, entry, auth, ""); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	for i, n := range nodes {
		waitFor(t, "node "+strconv.Itoa(i)+" to stop trusting the issuer", func() bool { return !authenticates(n, "shop/orders-v2") })
		if advertises(n) {
			t.Errorf("node %d still advertises the jwt-bearer grant with no issuer trusted", i)
		}
		r := postForm(t, n.AuthURL+"/oauth2/token", url.Values{"grant_type": {application.GrantTypeJWTBearer},
			"assertion": {k8s.token(t, "shop/orders-v2", issuer, 10*time.Minute)}}, nil)
		if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "unsupported_grant_type" {
			t.Errorf("node %d: the grant with no issuer trusted: %d %s", i, r.Status, r.Body)
		}
	}
	if r := adminCall(t, http.MethodGet, entry, auth, ""); r.Status != http.StatusNotFound {
		t.Errorf("GET after DELETE: %d %s", r.Status, r.Body)
	}
	for _, event := range []string{"federated_issuer_created", "federated_issuer_changed", "federated_issuer_deleted"} {
		if !strings.Contains(nodes[0].Logs.String(), "event="+event) {
			t.Errorf("no %s audit event in the node's log", event)
		}
	}
}

// TestTheFederationFileWinsOverTheAdminAPI: an issuer the file defines
// cannot be changed or removed through the API, which says why.
func TestTheFederationFileWinsOverTheAdminAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	k8s := newK8sIssuer(t)
	file := writeFederationFile(t, "issuers:\n  - issuer: "+k8s.url+"\n    clients:\n      - client: orders\n        sub: system:serviceaccount:shop:orders\n")
	n := startNode(t, func(c *bootstrap.Config) { c.FederationFile = file; c.AdminTokenSHA256 = tokenSHA256() })
	entry := "http://" + n.Config.AdminAddr + "/admin/v1/federation/issuers/" + url.PathEscape(k8s.url)
	for _, r := range []response{
		adminCall(t, http.MethodPut, entry, "Bearer "+adminToken, `{"clients":[{"client":"orders","sub":"system:serviceaccount:shop:intruder"}]}`),
		adminCall(t, http.MethodDelete, entry, "Bearer "+adminToken, ""),
	} {
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "federation file defines this issuer") {
			t.Errorf("managing the file's issuer: %d %s", r.Status, r.Body)
		}
	}
}

// TestTrustRelationshipWrittenWithoutTheFeed: a command on the database
// of a node without Redis (as `sigil federation apply` without
// --admin-url) tells no one, and the node trusts the issuer all the same
// at its next periodic reload (client-cache-ttl).
func TestTrustRelationshipWrittenWithoutTheFeed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	k8s := newK8sIssuer(t)
	n := startNode(t, func(c *bootstrap.Config) { c.ClientCacheTTL = time.Second })
	n.register(t, application.RegisterClientInput{Client: clientOf("orders", domain.AuthFederatedJWT)})
	admin, err := bootstrap.OpenAdmin(t.Context(), n.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ApplyFederatedIssuer(t.Context(), application.FederatedIssuerSpec{Issuer: k8s.url,
		Clients: []application.FederationMapping{{Client: "orders", Subject: "system:serviceaccount:shop:orders"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the node to trust the issuer", func() bool {
		r := postForm(t, n.AuthURL+"/oauth2/token", assertionForm(k8s.token(t, "shop/orders", n.Config.Issuer(), 10*time.Minute)), nil)
		return r.Status == http.StatusOK
	})
}

// TestFederationCommandThroughTheAdminAPI: `sigil federation` with
// --admin-url, from a folder with no database, trusts an issuer on a
// running node (its jwks_file sent inline), shows it, and removes it;
// the node audits each change and authenticates the mapped client in
// between.
func TestFederationCommandThroughTheAdminAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	k8s := newK8sIssuer(t)
	bin := buildSigil(t)
	a := startAdminServe(t, bin)
	laptop := t.TempDir()
	env := []string{"SIGIL_ADMIN_URL=" + a.adminURL, "SIGIL_ADMIN_TOKEN_FILE=" + a.tokenFile}
	sigil := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := sigilIn(t, bin, laptop, stdin, env, args...)
		if code != 0 {
			t.Fatalf("sigil %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	sigil("clients:\n  - id: orders\n    auth_methods: [federated_jwt]\n    scopes: [country.read]\n", "clients", "apply", "--file", "-")
	entry := "issuer: " + k8s.url + "\njwks: " + k8s.key.set + "\nclients:\n  - client: orders\n    sub: system:serviceaccount:shop:orders\n"
	if out := sigil(entry, "federation", "apply", "--file", "-"); out != "trusted "+k8s.url+"\n" {
		t.Fatalf("apply: %q", out)
	}
	if out := sigil("", "federation", "get", k8s.url, "-o", "json"); !strings.Contains(out, `"kid": "sa-key-1"`) {
		t.Errorf("get -o json through the API:\n%s", out)
	}
	waitFor(t, "the node to trust the issuer", func() bool {
		r := postForm(t, a.issuer+"/oauth2/token", assertionForm(k8s.token(t, "shop/orders", a.issuer, 10*time.Minute)), nil)
		return r.Status == http.StatusOK
	})
	if k8s.fetches.Load() != 0 {
		t.Errorf("the node fetched the JWKS of an issuer given inline")
	}
	if code, _, errOut := sigilIn(t, bin, laptop, "issuer: "+k8s.url+"\nalgorithms: [HS256]\nclients: [{client: orders, sub: x}]\n", env,
		"federation", "apply", "--file", "-"); code != 1 || !strings.Contains(errOut, `algorithm "HS256" not allowed`) {
		t.Errorf("a refused entry through the API: exit %d %s", code, errOut)
	}
	sigil("", "federation", "delete", k8s.url)
	if code, _, errOut := sigilIn(t, bin, laptop, "", env, "federation", "get", k8s.url); code != 1 || !strings.Contains(errOut, "no federated issuer") {
		t.Errorf("get after delete: exit %d %s", code, errOut)
	}
	for _, event := range []string{"federated_issuer_created", "federated_issuer_deleted"} {
		if !strings.Contains(a.process.logs.String(), `"event":"`+event+`"`) {
			t.Errorf("no %s audit event in the node's log", event)
		}
	}
}
