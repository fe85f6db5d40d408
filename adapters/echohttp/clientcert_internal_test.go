package echohttp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"
)

func selfSigned(t *testing.T) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "c"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Both forwarded forms give the certificate; anything else, or an XFCC
// header a second proxy appended to, gives none.
func TestParseForwardedCert(t *testing.T) {
	cert := selfSigned(t)
	escaped := url.PathEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})))
	good := map[string]string{
		"nginx escaped PEM":      escaped,
		"xfcc, Cert quoted":      `By=spiffe://a;Hash=ab;Cert="` + escaped + `";Subject="CN=c,O=x;y"`,
		"xfcc, Cert not quoted":  `Hash=ab;Cert=` + escaped,
		"xfcc, quoted separator": `Subject="CN=a,O=b";Cert="` + escaped + `"`,
	}
	for name, v := range good {
		got, err := parseForwardedCert(v)
		if err != nil || !got.Equal(cert) {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := map[string]string{
		"two elements": `Cert="` + escaped + `",Cert="` + escaped + `"`,
		"no Cert":      `By=spiffe://a;Hash=ab`,
		"not PEM":      "-----BEGIN%20CERTIFICATE-----%0Anope%0A-----END%20CERTIFICATE-----",
		"bad escape":   "-----BEGIN%zz",
		"empty":        "",
	}
	for name, v := range bad {
		if _, err := parseForwardedCert(v); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The header is read from a trusted proxy only; from elsewhere the TLS
// peer certificate, here none, counts.
func TestCertSourceTrustsOnlyProxies(t *testing.T) {
	cert := selfSigned(t)
	escaped := url.PathEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})))
	s := newCertSource(Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		ClientCerts: ClientCerts{Header: "X-Client-Cert"}}, slog.New(slog.DiscardHandler))
	for addr, want := range map[string]bool{"10.1.2.3:5555": true, "192.0.2.1:5555": false, "[::ffff:10.1.2.3]:1": true} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = addr
		req.Header.Set("X-Client-Cert", escaped)
		got, err := s.thumbprint(req)
		if err != nil || (got == certThumbprint(cert)) != want {
			t.Errorf("from %s: thumbprint %q, %v; want the header's: %v", addr, got, err, want)
		}
	}
}
