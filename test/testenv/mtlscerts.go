package testenv

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"net"
	"net/url"
	"testing"
	"time"
)

// ClientCertSpec is what a client certificate names (RFC 8705 §2.1.2).
type ClientCertSpec struct {
	Subject  pkix.Name
	DNSNames []string
	URIs     []*url.URL
	IPs      []net.IP
	Emails   []string
}

func (s ClientCertSpec) template(t testing.TB) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:   serial(t),
		Subject:        s.Subject,
		DNSNames:       s.DNSNames,
		URIs:           s.URIs,
		IPAddresses:    s.IPs,
		EmailAddresses: s.Emails,
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       time.Now().Add(24 * time.Hour),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// IssueClientSpec makes a client certificate naming spec, signed by ca.
func (ca *CA) IssueClientSpec(t testing.TB, spec ClientCertSpec) tls.Certificate {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, spec.template(t), ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("testenv: issue client certificate: %v", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// SelfSignedClient makes a self-signed client certificate naming spec,
// as a self_signed_tls_client_auth client holds (RFC 8705 §2.2).
func SelfSignedClient(t testing.TB, spec ClientCertSpec) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := spec.template(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testenv: self-sign client certificate: %v", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// CertPEM is c's leaf certificate in PEM.
func CertPEM(c tls.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})
}

// KeyPEM is c's private key in PKCS #8 PEM.
func KeyPEM(t testing.TB, c tls.Certificate) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatalf("testenv: marshal key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// PublicJWK is the public key of c (a P-256 key made here) as a JWK.
func PublicJWK(c tls.Certificate) map[string]string {
	pub := c.PrivateKey.(*ecdsa.PrivateKey).PublicKey
	b, err := pub.Bytes() // uncompressed point: 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	return map[string]string{"kty": "EC", "crv": "P-256",
		"x": base64.RawURLEncoding.EncodeToString(b[1:33]), "y": base64.RawURLEncoding.EncodeToString(b[33:])}
}
