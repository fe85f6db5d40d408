package bootstrap

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/sigilauth/sigil/adapters/echohttp"
	"github.com/sigilauth/sigil/domain"
)

// Values of tls-client-auth.
const (
	tlsClientAuthOff     = "off"
	tlsClientAuthRequest = "request"
)

// MTLSEnabled tells whether client certificates (RFC 8705) reach the
// servers: requested on the TLS listeners, or forwarded by a trusted
// proxy in client-cert-header.
func (c Config) MTLSEnabled() bool {
	return c.TLSClientAuth == tlsClientAuthRequest || c.ClientCertHeader != ""
}

// publicTLS is the TLS of the auth and resource listeners: the shared
// certificate, and with tls-client-auth request a client certificate
// asked for but not required (tls.RequestClientCert), so that clients
// authenticating with secrets or assertions connect as before. The chain
// is not verified in the handshake: a self_signed_tls_client_auth
// certificate has none, and which CAs count depends on the method, so
// tls_client_auth checks it against tls-client-ca-file afterwards. The
// CertificateRequest names no CAs for the same reason: a client library
// that filters its certificates by them (Go's does) would otherwise send
// no self-signed one.
func publicTLS(c Config, s serverTLS) *tls.Config {
	if s.config == nil || c.TLSClientAuth != tlsClientAuthRequest {
		return s.config
	}
	conf := s.config.Clone()
	conf.ClientAuth = tls.RequestClientCert
	return conf
}

// clientCerts are where the echo servers find client certificates.
func clientCerts(c Config) (echohttp.ClientCerts, error) {
	out := echohttp.ClientCerts{Header: c.ClientCertHeader}
	if c.TLSClientCAFile != "" {
		pool, err := tlsClientCAs(c.TLSClientCAFile)
		if err != nil {
			return echohttp.ClientCerts{}, err
		}
		out.CAs = pool
	}
	return out, nil
}

// tlsClientCAs are the CAs of tls-client-ca-file alone: the system's do
// not vouch for an OAuth client.
func tlsClientCAs(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls-client-ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls-client-ca-file %s: no PEM certificate in it", caFile)
	}
	return pool, nil
}

// validateMTLS checks the mutual-TLS settings.
func (c Config) validateMTLS(add func(format string, a ...any)) {
	switch c.TLSClientAuth {
	case tlsClientAuthOff:
	case tlsClientAuthRequest:
		if !c.TLSEnabled() {
			add("tls-client-auth request needs tls-cert-file and tls-key-file: client certificates come over TLS")
		}
	default:
		add("tls-client-auth %q is not one of off, request", c.TLSClientAuth)
	}
	if c.TLSClientCAFile != "" {
		if _, err := tlsClientCAs(c.TLSClientCAFile); err != nil {
			add("%v", err)
		}
	}
	if c.ClientCertHeader != "" && len(c.TrustedProxies) == 0 {
		add("client-cert-header needs trusted-proxies: the header is believed only from them")
	}
}

// validateProfile checks that the settings can meet profile fapi2: the
// access tokens signed with an algorithm FAPI 2.0 §5.4.1 allows, and the
// resource role accepting no other.
func (c Config) validateProfile(add func(format string, a ...any)) {
	switch c.Profile {
	case "":
	case domain.ProfileFAPI2:
		if !domain.FAPI2Algorithm(c.KeyAlgorithm) {
			add("profile fapi2 needs key-algorithm PS256, ES256 or EdDSA, not %s", c.KeyAlgorithm)
		}
		for _, a := range c.ResourceAlgorithms {
			if !domain.FAPI2Algorithm(a) {
				add("profile fapi2 allows resource-algorithms PS256, ES256 and EdDSA only, not %s", a)
			}
		}
	default:
		add("profile %q is not one of fapi2 or empty", c.Profile)
	}
}

// assertionAudiences are the aud values a client assertion may name: the
// issuer, or the URL of the endpoint; under profile fapi2 the issuer
// alone (FAPI 2.0 §5.3.2.1 item 6).
func assertionAudiences(c Config, endpoints ...string) []string {
	if c.Profile == domain.ProfileFAPI2 {
		return []string{c.Issuer()}
	}
	return append([]string{c.Issuer()}, endpoints...)
}
