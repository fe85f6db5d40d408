package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestOutputFormats: clients list, clients get and keys list print a
// table by default, and JSON or YAML that programs can read, with the
// same content as the table and never secret material.
func TestOutputFormats(t *testing.T) {
	db := []string{"--database-dsn", newDatabase(t), "--log-level", "warn"}
	stdin = strings.NewReader(`clients:
  - id: billing
    token_format: opaque
    token_lifetime: 30m
    auth_methods: [client_secret_basic, client_secret_jwt]
    scopes: [country.read, invoice.write]
    default_scopes: [country.read]
    resources: [https://api.example.com]
    secrets:
      - {id: "2026-12", secret: the-billing-secret-of-at-least-32-bytes}
      - {id: "2026-11", secret: the-old-billing-secret-of-32-bytes-too, expires_at: "2030-01-01T00:00:00Z"}
`)
	t.Cleanup(func() { stdin = os.Stdin })
	if code, _, errOut := cli(t, nil, append([]string{"clients", "apply", "-f", "-"}, db...)...); code != 0 {
		t.Fatalf("apply: exit %d, %s", code, errOut)
	}
	if code, _, errOut := cli(t, nil, append([]string{"keys", "rotate"}, db...)...); code != 0 {
		t.Fatalf("keys rotate: exit %d, %s", code, errOut)
	}
	secretMaterial := []string{"the-billing-secret", "the-old-billing-secret", "argon2id", "$", "hash", "sealed", "PRIVATE", "private"}

	want := clientView{
		ID: "billing", TokenFormat: "opaque", TokenLifetime: "30m0s",
		AuthMethods: []string{"client_secret_basic", "client_secret_jwt"}, GrantTypes: []string{"client_credentials"},
		Scopes: []string{"country.read", "invoice.write"}, DefaultScopes: []string{"country.read"},
		Resources: []string{"https://api.example.com"}, Audience: []string{},
		Secrets: []secretView{{ID: "2026-12"}, {ID: "2026-11", ExpiresAt: "2030-01-01T00:00:00Z"}},
	}
	decoders := map[string]func([]byte, any) error{"json": json.Unmarshal, "yaml": yaml.Unmarshal}
	for format, decode := range decoders {
		code, out, errOut := cli(t, nil, append([]string{"clients", "list", "-o", format}, db...)...)
		var list []clientView
		if err := decode([]byte(out), &list); code != 0 || err != nil || len(list) != 1 {
			t.Fatalf("clients list -o %s: exit %d, %v, stderr %q:\n%s", format, code, err, errOut, out)
		}
		if got, _ := json.Marshal(list[0]); string(got) != string(must(json.Marshal(want))) {
			t.Errorf("clients list -o %s gave\n%s\nwant\n%s", format, got, must(json.Marshal(want)))
		}
		code, out, _ = cli(t, nil, append([]string{"clients", "get", "billing", "--output", format}, db...)...)
		var one clientView
		if err := decode([]byte(out), &one); code != 0 || err != nil || one.ID != "billing" || len(one.Secrets) != 2 {
			t.Fatalf("clients get -o %s: exit %d, %v:\n%s", format, code, err, out)
		}
		code, out, _ = cli(t, nil, append([]string{"keys", "list", "-o", format}, db...)...)
		var keys []keyView
		if err := decode([]byte(out), &keys); code != 0 || err != nil || len(keys) != 1 || keys[0].State != "active" || keys[0].Algorithm != "RS256" || keys[0].KID == "" {
			t.Fatalf("keys list -o %s: exit %d, %v, %+v:\n%s", format, code, err, keys, out)
		}
		if strings.Contains(out, "PRIVATE") {
			t.Errorf("keys list -o %s shows key material:\n%s", format, out)
		}
	}
	for _, args := range [][]string{{"clients", "list"}, {"clients", "list", "-o", "json"}, {"clients", "list", "-o", "yaml"},
		{"clients", "get", "billing"}, {"clients", "get", "billing", "-o", "json"}, {"clients", "get", "billing", "-o", "yaml"}} {
		_, out, _ := cli(t, nil, append(args, db...)...)
		for _, secret := range secretMaterial {
			if strings.Contains(out, secret) {
				t.Errorf("%v shows secret material %q:\n%s", args, secret, out)
			}
		}
	}
	code, out, _ := cli(t, nil, append([]string{"clients", "get", "billing"}, db...)...)
	for _, row := range []string{"ID              billing\n", "LIFETIME        30m0s\n", "DEFAULT SCOPES  country.read\n", "SECRETS         2026-12, 2026-11 (until 2030-01-01T00:00:00Z)\n"} {
		if code != 0 || !strings.Contains(out, row) {
			t.Errorf("clients get: exit %d, no row %q:\n%s", code, row, out)
		}
	}
	if code, _, errOut := cli(t, nil, append([]string{"clients", "get", "nobody"}, db...)...); code != 1 || errOut != "sigil: no client \"nobody\"\n" {
		t.Errorf("clients get of no client: exit %d, stderr %q", code, errOut)
	}
	code, out, _ = cli(t, nil, "settings", "-o", "json")
	var settings []map[string]string
	if err := json.Unmarshal([]byte(out), &settings); code != 0 || err != nil || settings[0]["flag"] != "--role" || settings[0]["env"] != "SIGIL_ROLE" {
		t.Errorf("settings -o json: exit %d, %v:\n%.300s", code, err, out)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestAdminAPIFlags: --admin-url (or SIGIL_ADMIN_URL) points clients and
// keys at a node's admin API, with the token from --admin-token-file,
// without touching a database, and the variables are not warned of as
// unknown. (The admin API itself: test/e2e.)
func TestAdminAPIFlags(t *testing.T) {
	// An admin API that refuses every token, and says whose it was.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer an-admin-token" {
			t.Errorf("the admin API got Authorization %q", r.Header.Get("Authorization"))
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="sigil-admin", error="invalid_token"`)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"title":"the admin token is wrong","status":401,"code":"invalid_token"}`))
	}))
	defer api.Close()
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("an-admin-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		code int
		want string
	}{
		{"a URL without a token", nil, []string{"clients", "list", "--admin-url", "http://127.0.0.1:8095"}, 2, "sigil: --admin-url needs --admin-token-file"},
		{"a token without a URL", nil, []string{"keys", "list", "--admin-token-file", token}, 2, "sigil: --admin-token-file is for the admin API"},
		{"a token file that is not there", nil, []string{"keys", "list", "--admin-url", "http://127.0.0.1:8095", "--admin-token-file", filepath.Join(dir, "none")}, 1, "sigil: admin token: open "},
		{"flags", nil, []string{"clients", "list", "--admin-url", api.URL, "--admin-token-file", token}, 1, "admin API refused the token"},
		{"variables", map[string]string{envAdminURL: api.URL, envAdminTokenFile: token}, []string{"keys", "rotate"}, 1, "admin API refused the token"},
		{"the token variable alone, a node's own, leaves the database mode", map[string]string{envAdminTokenFile: token}, []string{"keys", "list"}, 1, "sigil: no database at "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := cli(t, tc.vars, append(tc.args, "--database-dsn", filepath.Join(dir, "sigil.db"))...)
			if code != tc.code || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q alone", code, out, errOut, tc.code, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the commands left files behind: %v", entries)
	}
}

// TestYAMLListSettings: a list setting may be a YAML list in the --config
// file; any other setting may not, and says so, exit 2.
func TestYAMLListSettings(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	dsn := filepath.Join(dir, "sigil.db")
	_ = os.WriteFile(good, []byte("trusted_proxies: [10.0.0.0/8, 192.0.2.7]\nresource:\n  algorithms: [ES256, EdDSA]\nlog_level: warn\n"), 0o600)
	_ = os.WriteFile(bad, []byte("auth_addr: [':8085', ':8086']\n"), 0o600)
	if code, out, errOut := cli(t, nil, "migrate", "--config", good, "--database-dsn", dsn); code != 0 || !strings.Contains(out, "database ready") {
		t.Fatalf("migrate with YAML lists: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut := cli(t, map[string]string{"SIGIL_CONFIG": bad}, "migrate", "--database-dsn", dsn)
	if code != 2 || errOut != "sigil: config file "+bad+": auth_addr is a list, but the setting takes one value\n" {
		t.Errorf("a YAML list for a one-value setting: exit %d, stderr %q", code, errOut)
	}
}

// TestStartLogsASummary: the start's info line names the role, the
// listeners, the issuer, the storage, Redis and the demo clients, not
// every setting; those are at debug level.
func TestStartLogsASummary(t *testing.T) {
	// A port in use ends the start once the line is logged.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, port, _ := net.SplitHostPort(taken.Addr().String())
	dsn := filepath.Join(t.TempDir(), "sigil.db")
	args := []string{"serve", "--auth-addr", taken.Addr().String(), "--resource-addr", "127.0.0.1:0", "--admin-addr", "",
		"--database-dsn", dsn, "--redis-password", "a-redis-password"}
	_, _, errOut := cli(t, nil, args...)
	var start string
	for _, line := range strings.Split(errOut, "\n") {
		if strings.Contains(line, `msg="starting sigil"`) {
			start = line
		}
	}
	for _, want := range []string{"version=", "role=all", "auth_addr=" + taken.Addr().String(), "resource_addr=127.0.0.1:0", "admin_addr=off",
		"issuer=http://localhost:" + port + "/ms-auth-server", "database=sqlite", "redis=false", "demo_clients=true"} {
		if !strings.Contains(start, " "+want) {
			t.Errorf("the start line lacks %q: %s", want, start)
		}
	}
	if strings.Contains(start, "rsa_bits") || strings.Contains(start, "key-publish-lead") || len(start) > 400 {
		t.Errorf("the start line lists the settings: %s", start)
	}
	if strings.Contains(errOut, "level=DEBUG") {
		t.Errorf("debug lines at level info:\n%s", errOut)
	}
	_, _, errOut = cli(t, nil, append(args, "--log-level", "debug")...)
	if !strings.Contains(errOut, `level=DEBUG msg=settings role=all`) || !strings.Contains(errOut, " rsa-bits=2048 ") ||
		strings.Contains(errOut, "a-redis-password") {
		t.Errorf("at debug level the settings, without secrets, should follow:\n%s", errOut)
	}
}

// TestFlagForms: every setting takes --name value and --name=value, a
// bool one included, before or after the command's own flags.
func TestFlagForms(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "sigil.db")
	code, out, errOut := cli(t, nil, "migrate", "--database-dsn="+dsn, "--resource-audience-check", "false", "--log-level=warn", "--rsa-bits", "3072")
	if code != 0 || out != "database ready: sqlite "+dsn+"\n" || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = cli(t, nil, "clients", "--database-dsn", dsn, "list", "-o=json", "--log-level", "warn")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("clients --database-dsn ... list -o=json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
