package e2e_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestClientsCommandThroughTheAdminAPI: `sigil clients` and `sigil keys`
// with --admin-url work on a running node through its admin API, from a
// folder with no database and no key-encryption key, as an operator's
// laptop would be: a client is registered, gets a new secret, loses the
// old one, has its tokens revoked and is deleted, and the node serves
// each change at once.
func TestClientsCommandThroughTheAdminAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildSigil(t)
	a := startAdminServe(t, bin)
	p, issuer, resource, tokenFile := a.process, a.issuer, a.resource, a.tokenFile

	laptop := t.TempDir()
	env := []string{"SIGIL_ADMIN_URL=" + a.adminURL, "SIGIL_ADMIN_TOKEN_FILE=" + tokenFile}
	sigil := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := sigilIn(t, bin, laptop, stdin, env, args...)
		if code != 0 {
			t.Fatalf("sigil %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}

	const first = "the-first-secret-of-the-reporting-job"
	sigil("clients:\n  - id: reporting\n    scopes: [country.read]\n    secrets:\n      - id: one\n        secret: "+first+"\n",
		"clients", "apply", "--file", "-")
	if out := sigil("", "clients", "get", "reporting", "-o", "json"); !strings.Contains(out, `"id": "reporting"`) || strings.Contains(out, first) {
		t.Fatalf("clients get through the API:\n%s", out)
	}
	old := accessToken(t, tokenFor(t, issuer, "reporting", first, "country.read"))

	// A new secret made by the server, printed once; then the old one ends.
	out := sigil("", "clients", "add-secret", "reporting", "--id", "two", "-o", "json")
	secret := between(out, `"secret": "`, `"`)
	if len(secret) < 32 {
		t.Fatalf("add-secret printed no secret:\n%s", out)
	}
	accessToken(t, tokenFor(t, issuer, "reporting", secret, "country.read"))
	sigil("", "clients", "expire-secret", "reporting", "one")
	if r := tokenFor(t, issuer, "reporting", first, "country.read"); r.Status != http.StatusUnauthorized {
		t.Errorf("the expired secret still gets a token: %d %s", r.Status, r.Body)
	}

	// Every token issued so far is refused at the resource server.
	if r := get(t, resource, old); r.Status != http.StatusOK {
		t.Fatalf("the token before revocation: %d", r.Status)
	}
	sigil("", "clients", "revoke-tokens", "reporting")
	if r := get(t, resource, old); r.Status != http.StatusUnauthorized {
		t.Errorf("a token of a client whose tokens were revoked: %d", r.Status)
	}

	if out := sigil("", "keys", "list", "-o", "json"); !strings.Contains(out, `"state": "active"`) {
		t.Errorf("keys list through the API:\n%s", out)
	}
	sigil("", "clients", "delete", "reporting")
	if code, _, errOut := sigilIn(t, bin, laptop, "", env, "clients", "get", "reporting"); code != 1 || !strings.Contains(errOut, `no client "reporting"`) {
		t.Errorf("get after delete: exit %d %s", code, errOut)
	}
	if entries, _ := os.ReadDir(laptop); len(entries) != 0 {
		t.Errorf("the commands made files on the operator's side: %v", entries)
	}
	// Through the API, the node audited each change.
	for _, event := range []string{"client_created", "secret_added", "secret_expired", "client_tokens_revoked", "client_deleted"} {
		if !strings.Contains(p.logs.String(), `"event":"`+event+`"`) {
			t.Errorf("no %s audit event in the node's log", event)
		}
	}
}

// between is the text of s after the first start and up to end.
func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}
