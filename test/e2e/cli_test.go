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

	out, err := sigil([]string{"BILLING_SECRET=s3cret-from-the-environment"}, "clients", "apply", "--file", file)
	if err != nil || !strings.Contains(out, "registered billing") {
		t.Fatalf("apply: %v\n%s", err, out)
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
