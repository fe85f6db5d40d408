package echohttp

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/sigilauth/sigil/domain"
)

// ClientCerts say where a request's TLS client certificate (RFC 8705)
// comes from and which CAs tls_client_auth certificates must chain to.
type ClientCerts struct {
	// CAs are the roots a tls_client_auth certificate must chain to
	// (tls-client-ca-file); nil means none does, and only
	// self_signed_tls_client_auth and certificate binding work.
	CAs *x509.CertPool
	// Header is the request header in which a TLS-terminating proxy
	// forwards the certificate it verified (client-cert-header): Envoy's
	// x-forwarded-client-cert with one element and its Cert="..." key, or
	// a URL-encoded PEM certificate as nginx's $ssl_client_escaped_cert.
	// It is read only from the connections of Options.TrustedProxies;
	// from such a connection the TLS peer certificate (the proxy's own)
	// is never taken for the client's.
	Header string
}

// certSource finds the certificate of a request.
type certSource struct {
	cas     *x509.CertPool
	header  string
	trusted []netip.Prefix
	log     *slog.Logger
}

func newCertSource(opts Options, log *slog.Logger) certSource {
	return certSource{cas: opts.ClientCerts.CAs, header: opts.ClientCerts.Header, trusted: opts.TrustedProxies, log: log}
}

var errForwardedCert = domain.ErrInvalidRequest.With("the forwarded client certificate is malformed")

// chain returns the certificate the client presented and the
// intermediates it sent, or none.
func (s certSource) chain(req *http.Request) ([]*x509.Certificate, error) {
	if s.header != "" {
		if s.fromTrustedProxy(req) {
			v := req.Header.Get(s.header)
			if v == "" {
				return nil, nil
			}
			cert, err := parseForwardedCert(v)
			if err != nil {
				return nil, errForwardedCert
			}
			return []*x509.Certificate{cert}, nil
		}
		if req.Header.Get(s.header) != "" {
			// Anyone can send the header: only a proxy's is believed.
			s.log.LogAttrs(req.Context(), slog.LevelDebug, "client certificate header from an untrusted address ignored",
				slog.String("remote_addr", req.RemoteAddr), slog.String("header", s.header))
		}
	}
	if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
		return nil, nil
	}
	return req.TLS.PeerCertificates, nil
}

func (s certSource) fromTrustedProxy(req *http.Request) bool {
	ap, err := netip.ParseAddrPort(req.RemoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// thumbprint is the x5t#S256 of the request's certificate (RFC 8705
// §3.1), empty without one: all the resource server needs, so nothing
// else is computed on its hot path.
func (s certSource) thumbprint(req *http.Request) (string, error) {
	chain, err := s.chain(req)
	if err != nil || len(chain) == 0 {
		return "", err
	}
	return certThumbprint(chain[0]), nil
}

// certificate is what client authentication reads of the request's
// certificate, nil without one.
func (s certSource) certificate(req *http.Request) (*domain.ClientCertificate, error) {
	chain, err := s.chain(req)
	if err != nil || len(chain) == 0 {
		return nil, err
	}
	leaf := chain[0]
	c := &domain.ClientCertificate{
		Thumbprint: certThumbprint(leaf),
		SubjectDN:  leaf.Subject.String(),
		DNSNames:   leaf.DNSNames,
		Emails:     leaf.EmailAddresses,
		PublicKey:  leaf.RawSubjectPublicKeyInfo,
	}
	for _, u := range leaf.URIs {
		c.URIs = append(c.URIs, u.String())
	}
	for _, ip := range leaf.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			c.IPs = append(c.IPs, a.Unmap())
		}
	}
	if s.cas != nil {
		inter := x509.NewCertPool()
		for _, ic := range chain[1:] {
			inter.AddCert(ic)
		}
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots: s.cas, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		c.ChainVerified = err == nil
	}
	return c, nil
}

func certThumbprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// parseForwardedCert reads a forwarded certificate: a URL-encoded PEM
// (nginx's $ssl_client_escaped_cert), or Envoy's x-forwarded-client-cert
// with exactly one element, whose Cert key holds the URL-encoded PEM. More
// than one element means a proxy appended to a header a client sent:
// refused, since the first is then not known to be the proxy's own.
func parseForwardedCert(v string) (*x509.Certificate, error) {
	v = strings.TrimSpace(v)
	// An escaped PEM keeps its dashes and BEGIN: "-----BEGIN%20CERTIFICATE-----".
	if strings.HasPrefix(v, "-----BEGIN") {
		return parseEscapedPEM(v)
	}
	elements := splitOutsideQuotes(v, ',')
	if len(elements) != 1 {
		return nil, errForwardedCert
	}
	for _, pair := range splitOutsideQuotes(elements[0], ';') {
		key, value, ok := strings.Cut(pair, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(key), "Cert") {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = strings.ReplaceAll(value[1:len(value)-1], `\"`, `"`)
		}
		return parseEscapedPEM(value)
	}
	return nil, errForwardedCert
}

// parseEscapedPEM decodes a URL-encoded PEM certificate. Path unescaping
// keeps a literal '+' (base64) as it is.
func parseEscapedPEM(v string) (*x509.Certificate, error) {
	raw, err := url.PathUnescape(v)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(raw))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errForwardedCert
	}
	return x509.ParseCertificate(block.Bytes)
}

// splitOutsideQuotes splits s at sep where sep is not inside a quoted
// string (with backslash escapes), as XFCC values may quote.
func splitOutsideQuotes(s string, sep byte) []string {
	var (
		out     []string
		start   int
		quoted  bool
		escaped bool
	)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case c == '\\' && quoted:
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
