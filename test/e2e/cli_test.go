package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientsCommand registers, lists and deletes clients with the built
// binary, as an operator would, on the embedded database.
func TestClientsCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildSigil(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "clients.yaml")
	yaml := `clients:
  - id: billing
    token_format: opaque
    scopes: [country.read, invoice.write]
    default_scopes: [country.read]
    resources: [https://api.example.com]
    token_lifetime: 30m
    secrets:
      - id: "2026-11"
        secret_env: BILLING_SECRET
      - id: "2026-10"
        secret: the-old-billing-secret
        expires_at: 2030-01-01T00:00:00Z
  - id: signer
    auth_methods: [client_secret_jwt]
    scopes: [country.read]
    secrets:
      - id: "1"
        secret: a-client-secret-jwt-secret-of-forty-eight-bytes!
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	sigil := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// The commands refuse a database that does not exist: migrate makes
	// it, as serve would on its first start.
	if out, err := sigil(nil, "clients", "list"); err == nil || !strings.Contains(out, "no database at sigil.db") {
		t.Fatalf("list before any database: %v\n%s", err, out)
	}
	if out, err := sigil(nil, "migrate"); err != nil || !strings.Contains(out, "database ready: sqlite sigil.db") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	out, err := sigil([]string{"BILLING_SECRET=s3cret-from-the-environment"}, "clients", "apply", "--file", file)
	if err != nil || !strings.Contains(out, "registered billing\n") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	// A 48-byte secret signs HS256 and HS384 assertions, not HS512: the
	// token endpoint would only say invalid_client, so apply says it.
	if !strings.Contains(out, "registered signer (client_secret_jwt with HS256, HS384; HS512 needs secrets of 64 bytes)") {
		t.Fatalf("apply does not tell the algorithms of a client_secret_jwt client:\n%s", out)
	}
	out, err = sigil(nil, "clients", "list")
	if err != nil || !strings.Contains(out, "billing") || !strings.Contains(out, "2026-10 (until 2030-01-01T00:00:00Z)") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	for _, secret := range []string{"s3cret-from-the-environment", "the-old-billing-secret", "argon2id"} {
		if strings.Contains(out, secret) {
			t.Errorf("list shows secret material %q:\n%s", secret, out)
		}
	}
	// A file with a typo is refused before anything is written.
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("clients:\n  - id: x\n    scoeps: [a]\n"), 0o600)
	if out, err := sigil(nil, "clients", "apply", "--file", bad); err == nil || !strings.Contains(out, "scoeps") {
		t.Errorf("typo accepted: %v\n%s", err, out)
	}
	if out, err := sigil(nil, "clients", "delete", "--id", "billing"); err != nil || !strings.Contains(out, "deleted billing") {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if out, err := sigil(nil, "clients", "delete", "--id", "billing"); err == nil || !strings.Contains(out, `no client "billing"`) {
		t.Errorf("second delete: %v\n%s", err, out)
	}
}

// TestRetirePeriodShorterThanTokensIsRefused: settings under which valid
// tokens would fail before they expire are refused with the reason, by
// `sigil serve` at start and by `sigil clients apply`.
func TestRetirePeriodShorterThanTokensIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildSigil(t)
	dir := t.TempDir()
	sigil := func(args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}

	// The demo clients' tokens live 4h; a 2h retire period would remove
	// their key while they are still valid.
	out, code := sigil("serve", "--key-retire-period", "2h", "--auth-addr", "127.0.0.1:0", "--resource-addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(out, "key-retire-period 2h0m0s is too short for the demo client") ||
		!strings.Contains(out, "at least 4h1m0s") {
		t.Fatalf("serve with a retire period below the demo lifetime: exit %d\n%s", code, out)
	}

	file := filepath.Join(dir, "clients.yaml")
	yaml := `clients:
  - id: long-lived
    token_lifetime: 48h
    scopes: [country.read]
    secrets:
      - id: "1"
        secret: a-secret-for-the-long-lived-client
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := sigil("migrate"); code != 0 {
		t.Fatalf("migrate: exit %d\n%s", code, out)
	}
	out, code = sigil("clients", "apply", "--file", file)
	if code == 0 || !strings.Contains(out, "token_lifetime 48h0m0s is longer than 23h59m0s") {
		t.Fatalf("apply of a client outliving the retire period: exit %d\n%s", code, out)
	}
	if out, _ := sigil("clients", "list"); strings.Contains(out, "long-lived") {
		t.Fatalf("the refused client was registered:\n%s", out)
	}
}
