package bootstrap

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdminTokenHash(t *testing.T) {
	token := "Yk9c0mZqk3Vt0mJr0l0yN6s1pX7hQ2aB4cD5eF6gH7i="
	sum := sha256.Sum256([]byte(token))
	want := hex.EncodeToString(sum[:])
	dir := t.TempDir()
	file := func(content string) string {
		p := filepath.Join(dir, rand8(content))
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name    string
		config  Config
		want    string
		problem string
	}{
		{"off", Config{}, "", ""},
		{"file with the token and a newline", Config{AdminTokenFile: file(token + "\n")}, want, ""},
		{"file with its hash", Config{AdminTokenFile: file("sha256:" + want)}, want, ""},
		{"hash setting", Config{AdminTokenSHA256: want}, want, ""},
		{"short token", Config{AdminTokenFile: file("admin")}, "", "fewer than 32"},
		{"bad hash", Config{AdminTokenSHA256: "abc"}, "", "64 hex digits"},
		{"both", Config{AdminTokenFile: file(token), AdminTokenSHA256: want}, "", "both set"},
		{"missing file", Config{AdminTokenFile: filepath.Join(dir, "nope")}, "", "no such file"},
	} {
		got, err := adminTokenHash(c.config)
		switch {
		case c.problem != "" && (err == nil || !strings.Contains(err.Error(), c.problem)):
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.problem)
		case c.problem == "" && (err != nil || hex.EncodeToString(got) != c.want):
			t.Errorf("%s: %x %v, want %s", c.name, got, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("%s: the error shows the token", c.name)
		}
	}
}

func rand8(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// Client certificates come over TLS: the CA file without a certificate of
// the server's own is refused at start, and so is a file without a CA.
func TestAdminClientCAFileNeedsTLS(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Defaults()
	c.AdminClientCAFile = empty
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "admin-client-ca-file needs tls-cert-file") || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("Validate: %v", err)
	}
}
