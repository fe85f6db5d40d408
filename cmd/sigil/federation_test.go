package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFederationCommands: `sigil federation` on the database: an entry
// applied (its jwks_file read inline), listed, printed as YAML that apply
// takes back unchanged, refused when it breaks the federation file's
// rules or names an issuer the file defines, and deleted.
func TestFederationCommands(t *testing.T) {
	dir := t.TempDir()
	db := []string{"--database-dsn", newDatabase(t), "--log-level", "warn"}
	write := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("k8s.jwks", `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"sa-1","use":"sig","alg":"ES256"}]}`)
	entry := write("k8s.yaml", `issuer: https://k8s.example
jwks_file: k8s.jwks
max_lifetime: 30m
clients:
  - client: orders
    sub: system:serviceaccount:shop:orders
`)
	sigil := func(args ...string) (int, string, string) { return cli(t, nil, append(args, db...)...) }

	if code, out, errOut := sigil("federation", "apply", "--file", entry); code != 0 || out != "trusted https://k8s.example\n" {
		t.Fatalf("apply: exit %d, %q %q", code, out, errOut)
	}
	if code, out, errOut := sigil("federation", "apply", "--file", entry); code != 0 || out != "changed https://k8s.example\n" {
		t.Fatalf("apply again: exit %d, %q %q", code, out, errOut)
	}
	code, out, _ := sigil("federation", "list")
	if code != 0 || !regexp.MustCompile(`(?m)^https://k8s.example\s+inline jwks\s+orders\s*$`).MatchString(out) {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	code, yamlOut, _ := sigil("federation", "get", "https://k8s.example", "-o", "yaml")
	if code != 0 || !strings.Contains(yamlOut, "kid: sa-1") || !strings.Contains(yamlOut, "max_lifetime: 30m") || strings.Contains(yamlOut, "jwks_file") {
		t.Fatalf("get -o yaml: exit %d\n%s", code, yamlOut)
	}
	again := write("again.yaml", yamlOut)
	if code, _, errOut := sigil("federation", "apply", "--file", again); code != 0 {
		t.Fatalf("apply of what get printed: %s", errOut)
	}
	if _, out, _ := sigil("federation", "get", "https://k8s.example", "-o", "yaml"); out != yamlOut {
		t.Errorf("get after applying its own output:\n%s\nwant\n%s", out, yamlOut)
	}

	// Refusals name the rule, as for a federation file, and change nothing.
	hmac := write("hmac.yaml", "issuer: https://ci.example\nalgorithms: [HS256]\nclients: [{client: ci, sub: repo}]\n")
	if code, _, errOut := sigil("federation", "apply", "--file", hmac); code == 0 || !strings.Contains(errOut, `algorithm "HS256" not allowed`) {
		t.Errorf("HMAC entry: exit %d, %q", code, errOut)
	}
	unknown := write("unknown.yaml", "issuer: https://ci.example\naudience: x\n")
	if code, _, errOut := sigil("federation", "apply", "--file", unknown); code == 0 || !strings.Contains(errOut, "field audience not found") {
		t.Errorf("unknown key: exit %d, %q", code, errOut)
	}
	fileIssuers := write("federation.yaml", "issuers:\n  - issuer: https://file.example\n    clients: [{client: a, sub: b}]\n")
	withFile := append([]string{"--federation-file", fileIssuers}, db...)
	mine := write("mine.yaml", "issuer: https://file.example\nclients: [{client: a, sub: intruder}]\n")
	if code, _, errOut := cli(t, nil, append([]string{"federation", "apply", "--file", mine}, withFile...)...); code == 0 || !strings.Contains(errOut, "federation file defines this issuer") {
		t.Errorf("an issuer of the file: exit %d, %q", code, errOut)
	}
	// A federation file the host lacks fails the federation commands, not
	// the others.
	missing := append([]string{"--federation-file", filepath.Join(dir, "nothing.yaml")}, db...)
	if code, _, errOut := cli(t, nil, append([]string{"federation", "apply", "--file", mine}, missing...)...); code == 0 || !strings.Contains(errOut, "nothing.yaml") {
		t.Errorf("with a missing federation file: exit %d, %q", code, errOut)
	}
	if code, _, errOut := cli(t, nil, append([]string{"clients", "list"}, missing...)...); code != 0 {
		t.Errorf("clients list with a missing federation file: exit %d, %q", code, errOut)
	}
	if _, out, _ := sigil("federation", "list"); strings.Count(out, "\n") != 2 {
		t.Errorf("refused entries were stored:\n%s", out)
	}

	if code, out, _ := sigil("federation", "delete", "https://k8s.example"); code != 0 || out != "deleted https://k8s.example\n" {
		t.Fatalf("delete: exit %d, %q", code, out)
	}
	if code, _, errOut := sigil("federation", "get", "https://k8s.example"); code != 1 || !strings.Contains(errOut, `no federated issuer "https://k8s.example"`) {
		t.Errorf("get after delete: exit %d, %q", code, errOut)
	}
}
