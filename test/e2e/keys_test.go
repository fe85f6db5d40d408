package e2e_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
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
	if err := first.Stop(); err != nil {
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
	err = other.Start()
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
	run("migrate")
	run("keys", "rotate")
	out := run("keys", "rotate")
	if !strings.Contains(out, "published ") || strings.Count(out, "active") != 1 || strings.Count(out, "published") < 2 {
		t.Fatalf("keys rotate:\n%s", out)
	}
	out = run("keys", "list")
	if !strings.Contains(out, "RS256") || !strings.Contains(out, "KID") {
		t.Fatalf("keys list:\n%s", out)
	}

	// Revoking the active key hands signing to the published one at once
	// and leaves the revoked key out of the list.
	var active, published string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[2] == "active" {
			active = f[0]
		}
		if len(f) >= 3 && f[2] == "published" {
			published = f[0]
		}
	}
	if active == "" || published == "" {
		t.Fatalf("no active and published key in:\n%s", out)
	}
	out = run("keys", "revoke", active)
	if !strings.Contains(out, "revoked "+active) || !strings.Contains(out, published+" signs from now on") {
		t.Fatalf("keys revoke:\n%s", out)
	}
	if strings.Contains(out, active+" ") {
		t.Fatalf("the revoked key is still listed:\n%s", out)
	}
	// An unknown kid is an error that says so, with a failing exit code.
	cmd := exec.Command(bin, "keys", "revoke", "no-such-kid")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	msg, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != 1 || !strings.Contains(string(msg), "no signing key no-such-kid") {
		t.Fatalf("revoking an unknown key: exit %d, %s", code, msg)
	}
}

// TestRevokedKeyOneNode: one `sigil serve` with both roles and no Redis,
// its resource role sharing the auth role's events in process. A key
// revoked by the command (which has no feed to tell the server on) stops
// verifying at the server's next key check, the cached verification of
// a token it signed too, long before the token expires.
func TestRevokedKeyOneNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	n := startNode(t, func(c *bootstrap.Config) {
		c.KeyEncryptionKey = testKEK
		c.KeyRotationCheck = 200 * time.Millisecond
	})
	cached := n.token(t, jwtClient[0], jwtClient[1], "country.read")
	uncached := n.token(t, jwtClient[0], jwtClient[1], "country.read")
	for range 3 {
		wantCountryAUS(t, get(t, n.ResourceURL+"/country/code/AUS", cached))
	}
	admin, err := bootstrap.OpenAdmin(context.Background(), n.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	kid := jwtHeader(t, cached)["kid"].(string)
	if res, err := admin.Rotate.Revoke(context.Background(), kid); err != nil || !res.Done {
		t.Fatalf("revoke: %+v %v", res, err)
	}
	// From the moment the key left the store (the command made the key
	// that took over, an RSA key, before that).
	revokedAt := time.Now()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", n.Logs)
		}
	})
	// One key check (200ms) plus a generous second.
	for name, tok := range map[string]string{"cached": cached, "uncached": uncached} {
		waitRefused(t, n, tok, revokedAt.Add(1200*time.Millisecond))
		t.Logf("the %s token was refused %s after the revocation", name, time.Since(revokedAt).Round(time.Millisecond))
	}
	waitInactive(t, n, cached, revokedAt.Add(1200*time.Millisecond))
	// The key made in its place signs tokens the resource role accepts.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := roundTrip(n, n)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no working token after the revocation: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStartRefusesAClientOutlivingItsKey: a client registered under
// settings that allowed it (a longer retire period) stops the auth role
// from starting under settings that do not, with the reason; the
// resource role, which signs nothing, starts.
func TestStartRefusesAClientOutlivingItsKey(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	dsn := t.TempDir() + "/sigil.db"
	c := bootstrap.Defaults()
	c.DatabaseDSN, c.KeyEncryptionKey, c.KeyRetirePeriod = dsn, testKEK, 72*time.Hour
	if err := bootstrap.MigrateDatabase(context.Background(), c, nil); err != nil {
		t.Fatal(err)
	}
	admin, err := bootstrap.OpenAdmin(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	in := application.RegisterClientInput{
		Client: domain.Client{
			ID: "long-lived", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretBasic},
			GrantTypes:    []domain.GrantType{domain.GrantClientCredentials},
			AllowedScopes: domain.NewScopes("country.read"), TokenLifetime: 48 * time.Hour, TokenFormat: domain.FormatJWT,
		},
		Secrets: []application.SecretSpec{{ID: "1", Secret: "a-secret-for-the-long-lived-client"}},
	}
	if err := admin.Register.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}

	n, err := newNode(t, func(c *bootstrap.Config) {
		c.DatabaseDSN, c.KeyEncryptionKey = dsn, testKEK
	})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Start()
	if err == nil || !strings.Contains(err.Error(), "key-retire-period 24h0m0s is too short for client long-lived, whose tokens live 48h0m0s") {
		t.Fatalf("start with a client outliving the retire period: %v", err)
	}
	startNode(t, func(c *bootstrap.Config) {
		c.DatabaseDSN, c.KeyEncryptionKey, c.Role = dsn, testKEK, bootstrap.RoleResource
	})
}
