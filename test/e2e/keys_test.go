package e2e_test

import (
	"database/sql"
	"os"
	"os/exec"
	"strings"
	"testing"

	_ "github.com/glebarez/go-sqlite"

	"github.com/sigilauth/sigil/bootstrap"
)

// TestKeysAtRest: the signing key in the database is sealed, and a node
// with another key-encryption key refuses to start and says why.
func TestKeysAtRest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	first := startNode(t, func(c *bootstrap.Config) {
		c.KeyEncryptionKey = testKEK
	})
	if err := first.app.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", first.Config.DatabaseDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var sealed bool
	var material []byte
	if err := db.QueryRow(`select sealed, private_key from sigil_signing_keys`).Scan(&sealed, &material); err != nil {
		t.Fatal(err)
	}
	// PKCS#8 DER of a private key starts with a SEQUENCE and version 0.
	if !sealed || len(material) > 2 && material[0] == 0x30 {
		t.Fatalf("the private key is stored in the clear (sealed=%v, starts %x)", sealed, material[:4])
	}

	other, err := newNode(t, func(c *bootstrap.Config) {
		c.DatabaseDSN = first.Config.DatabaseDSN
		c.KeyEncryptionKey = "b3RoZXIta2V5LWVuY3J5cHRpb24ta2V5LW9mLTMyLWI="
	})
	if err != nil {
		t.Fatal(err)
	}
	err = other.start()
	if err == nil || !strings.Contains(err.Error(), "key-encryption key does not match") {
		t.Fatalf("a node with the wrong key-encryption key started or said something else: %v", err)
	}
}

// TestKeysCommand lists and rotates keys with the built binary.
func TestKeysCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildSigil(t)
	dir := t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sigil %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// The first rotation on an empty database creates the active key; the
	// second publishes the next one, which waits for the publish lead.
	run("keys", "rotate")
	out := run("keys", "rotate")
	if !strings.Contains(out, "published ") || strings.Count(out, "active") != 1 || strings.Count(out, "published") < 2 {
		t.Fatalf("keys rotate:\n%s", out)
	}
	out = run("keys", "list")
	if !strings.Contains(out, "RS256") || !strings.Contains(out, "KID") {
		t.Fatalf("keys list:\n%s", out)
	}
}
