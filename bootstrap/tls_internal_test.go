package bootstrap

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/test/testenv"
)

func TestTLSSettings(t *testing.T) {
	c := Defaults()
	if c.TLSEnabled() || c.TLSMinVersion != tls.VersionTLS12 {
		t.Fatalf("defaults: TLS enabled %v, min version %s; want plain HTTP and 1.2", c.TLSEnabled(), c.TLSMinVersion)
	}
	if got := c.Issuer(); got != "http://localhost:8085/ms-auth-server" {
		t.Errorf("plain issuer = %q", got)
	}
	ca := testenv.NewCA(t)
	certFile, keyFile := ca.WriteCert(t, t.TempDir(), "sigil")
	c.TLSCertFile, c.TLSKeyFile = certFile, keyFile
	if got := c.Issuer(); got != "https://localhost:8085/ms-auth-server" {
		t.Errorf("issuer with TLS = %q, want https", got)
	}
	if got := c.JWKSURL(); got != "https://localhost:8085/ms-auth-server/oauth2/jwks" {
		t.Errorf("JWKS URL with TLS = %q, want https", got)
	}
	if got := c.IntrospectionURL(); got != "https://localhost:8085/ms-auth-server/oauth2/introspect" {
		t.Errorf("introspection URL with TLS = %q, want https", got)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("both files: %v", err)
	}
	c.TLSKeyFile = ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "tls-cert-file and tls-key-file go together") {
		t.Errorf("certificate without key: Validate = %v", err)
	}
	c.TLSCertFile, c.TLSKeyFile = "", keyFile
	if err := c.Validate(); err == nil {
		t.Error("key without certificate: Validate passed")
	}
	c.TLSCertFile, c.TLSKeyFile = certFile, certFile+".missing"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "tls-key-file "+certFile+".missing: open ") {
		t.Errorf("missing key file: Validate = %v, want the file named", err)
	}
	c.TLSCertFile, c.TLSKeyFile = keyFile, keyFile
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "tls-cert-file "+keyFile) {
		t.Errorf("key given as certificate: Validate = %v", err)
	}
	c.TLSCertFile, c.TLSKeyFile = "", ""
	c.OutboundCAFile = keyFile
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "outbound-ca-file "+keyFile+": no PEM certificate") {
		t.Errorf("CA file without a certificate: Validate = %v", err)
	}

	var v TLSVersion
	if err := v.Set("1.3"); err != nil || v != tls.VersionTLS13 || v.String() != "1.3" {
		t.Errorf("Set(1.3) = %v, %s", err, v)
	}
	for _, bad := range []string{"1.1", "1.0", "TLS1.3", ""} {
		if err := v.Set(bad); err == nil {
			t.Errorf("Set(%q) passed", bad)
		}
	}
}

func TestTLSFilesAreCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t)
	certFile, keyFile := ca.WriteCert(t, dir, "sigil")
	c := Defaults()
	c.TLSCertFile, c.TLSKeyFile = certFile, keyFile
	st, err := newServerTLS(c, nil)
	if err != nil || st.config == nil || st.config.MinVersion != tls.VersionTLS12 {
		t.Fatalf("newServerTLS = %+v, %v", st, err)
	}
	c.TLSKeyFile = filepath.Join(dir, "missing.pem")
	if _, err := newServerTLS(c, nil); err == nil || !strings.Contains(err.Error(), "missing.pem") || strings.Contains(err.Error(), "\n") {
		t.Errorf("missing key file: %v, want one line naming the file", err)
	}

	c.OutboundCAFile = filepath.Join(dir, "ca.pem")
	if _, err := newOutboundClient(c); err == nil || !strings.HasPrefix(err.Error(), "outbound-ca-file") {
		t.Errorf("missing CA file: %v", err)
	}
	testenv.WriteNewer(t, c.OutboundCAFile, []byte("not a certificate"))
	if _, err := newOutboundClient(c); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("CA file without certificates: %v", err)
	}
	if err := os.WriteFile(c.OutboundCAFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := newOutboundClient(c); err != nil {
		t.Errorf("good CA file: %v", err)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8085": true, "[::1]:8085": true, "localhost:8085": true, "127.0.0.2:1": true,
		":8085": false, "0.0.0.0:8085": false, "[::]:8085": false, "10.0.0.5:8085": false, "example.com:80": false,
	} {
		if got := loopbackOnly(addr); got != want {
			t.Errorf("loopbackOnly(%q) = %v, want %v", addr, got, want)
		}
	}
}
