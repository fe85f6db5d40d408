package bootstrap

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/sigilauth/sigil/adapters/certfile"
)

// TLSVersion is the oldest TLS version a listener accepts.
type TLSVersion uint16

// Set reads 1.2 or 1.3; see value.
func (v *TLSVersion) Set(s string) error {
	switch s {
	case "1.2":
		*v = tls.VersionTLS12
	case "1.3":
		*v = tls.VersionTLS13
	default:
		return fmt.Errorf("%q is not one of 1.2, 1.3", s)
	}
	return nil
}

func (v TLSVersion) String() string {
	if v == tls.VersionTLS13 {
		return "1.3"
	}
	return "1.2"
}

// TLSEnabled tells whether the public listeners serve TLS.
func (c Config) TLSEnabled() bool { return c.TLSCertFile != "" }

// tls12Suites are the TLS 1.2 suites served: forward-secret (ECDHE) and
// authenticated encryption (AEAD) only, as Mozilla's "intermediate"
// profile and RFC 9325 §4.2 recommend; Go's defaults would also offer
// ECDHE with CBC. TLS 1.3 suites are not configurable and all fine.
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// serverTLS is the TLS configuration of the public listeners, nil when
// they serve plain HTTP. Both listeners share one certificate reloader;
// publicTLS (mtls.go) asks for client certificates on a clone.
type serverTLS struct{ config *tls.Config }

// newServerTLS loads tls-cert-file and tls-key-file, failing the start
// when they do not form a pair; they are read again when they change.
func newServerTLS(c Config, log *slog.Logger) (serverTLS, error) {
	if !c.TLSEnabled() {
		return serverTLS{}, nil
	}
	r, err := certfile.New(c.TLSCertFile, c.TLSKeyFile, certfile.Options{Logger: log})
	if err != nil {
		return serverTLS{}, fmt.Errorf("tls-cert-file, tls-key-file: %w", err)
	}
	return serverTLS{config: &tls.Config{
		MinVersion:     uint16(c.TLSMinVersion),
		CipherSuites:   tls12Suites,
		GetCertificate: r.GetCertificate,
	}}, nil
}

// newOutboundClient is the HTTP client of every call Sigil makes: the
// resource role's JWKS fetches and introspection, the auth role's fetches
// of clients' jwks_uri. It trusts the system's CAs and those of
// outbound-ca-file, read once at start.
func newOutboundClient(c Config) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if c.OutboundCAFile != "" {
		pool, err := outboundRoots(c.OutboundCAFile)
		if err != nil {
			return nil, err
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Timeout: c.OutboundTimeout, Transport: t}, nil
}

// outboundRoots are the system's CAs and those of caFile.
func outboundRoots(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("outbound-ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("outbound-ca-file %s: no PEM certificate in it", caFile)
	}
	return pool, nil
}

// validateTLS checks the TLS settings and reads their files, so that a
// missing or wrong file stops the start with one line naming it.
func (c Config) validateTLS(add func(format string, a ...any)) {
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		add("tls-cert-file and tls-key-file go together: give both or neither")
	} else if c.TLSEnabled() {
		if _, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile); err != nil {
			add("tls-cert-file %s, tls-key-file %s: %v", c.TLSCertFile, c.TLSKeyFile, err)
		}
	}
	if c.OutboundCAFile != "" {
		if _, err := outboundRoots(c.OutboundCAFile); err != nil {
			add("%v", err)
		}
	}
	if c.AdminClientCAFile != "" {
		if !c.TLSEnabled() {
			add("admin-client-ca-file needs tls-cert-file and tls-key-file: client certificates come over TLS")
		}
		if _, err := adminClientCAs(c.AdminClientCAFile); err != nil {
			add("%v", err)
		}
	}
}

// adminClientCAs are the CAs of admin-client-ca-file alone: the system's
// are not trusted to name an administrator.
func adminClientCAs(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("admin-client-ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("admin-client-ca-file %s: no PEM certificate in it", caFile)
	}
	return pool, nil
}

// managementTLS is the management listener's TLS: none unless
// admin-client-ca-file is set (it stays plain HTTP, for loopback or a
// private network, as the profiler); with it, the public listeners'
// certificate, and client certificates of those CAs verified when given,
// so that a scraper without one still reads /metrics.
func managementTLS(c Config, public serverTLS) (*tls.Config, error) {
	if c.AdminClientCAFile == "" || public.config == nil {
		return nil, nil
	}
	pool, err := adminClientCAs(c.AdminClientCAFile)
	if err != nil {
		return nil, err
	}
	conf := public.config.Clone()
	conf.ClientAuth = tls.VerifyClientCertIfGiven
	conf.ClientCAs = pool
	return conf, nil
}

// loopbackOnly tells whether addr, a listen address, is reachable from
// this host only: a loopback IP or localhost. An empty host listens on
// every interface.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
