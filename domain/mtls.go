package domain

import (
	"net/netip"
	"slices"
	"strings"
)

// Mutual-TLS client authentication methods (RFC 8705 §2.1, §2.2).
const (
	AuthTLSClientAuth           AuthMethod = "tls_client_auth"
	AuthSelfSignedTLSClientAuth AuthMethod = "self_signed_tls_client_auth"
)

// TLSSubjectKind names which part of a client certificate identifies a
// tls_client_auth client: the metadata parameter of RFC 8705 §2.1.2 that
// holds the registered value.
type TLSSubjectKind string

// The subject parameters of RFC 8705 §2.1.2; a client registers exactly one.
const (
	TLSSubjectDN       TLSSubjectKind = "tls_client_auth_subject_dn"
	TLSSubjectSANDNS   TLSSubjectKind = "tls_client_auth_san_dns"
	TLSSubjectSANURI   TLSSubjectKind = "tls_client_auth_san_uri"
	TLSSubjectSANIP    TLSSubjectKind = "tls_client_auth_san_ip"
	TLSSubjectSANEmail TLSSubjectKind = "tls_client_auth_san_email"
)

// TLSSubjectKinds lists the kinds in the order RFC 8705 §2.1.2 gives them.
var TLSSubjectKinds = []TLSSubjectKind{TLSSubjectDN, TLSSubjectSANDNS, TLSSubjectSANURI, TLSSubjectSANIP, TLSSubjectSANEmail}

// TLSSubject is what a tls_client_auth client's certificate must carry:
// its subject DN, or one subjectAltName entry of one type.
type TLSSubject struct {
	Kind  TLSSubjectKind
	Value string
}

// IsZero reports whether no subject is registered.
func (s TLSSubject) IsZero() bool { return s.Kind == "" && s.Value == "" }

// NewTLSSubject picks the one registered subject among the parameters of
// RFC 8705 §2.1.2, keyed by kind; empty values are absent. More than one
// is invalid_client_metadata (§2.1.2: "exactly one"); none gives the zero
// subject.
func NewTLSSubject(values map[TLSSubjectKind]string) (TLSSubject, error) {
	var s TLSSubject
	for _, k := range TLSSubjectKinds {
		v := values[k]
		if v == "" {
			continue
		}
		if !s.IsZero() {
			return TLSSubject{}, ErrInvalidClientMetadata.With("register only one of " + string(s.Kind) + " and " + string(k))
		}
		s = TLSSubject{Kind: k, Value: v}
	}
	return s, nil
}

// ClientCertificate is what Sigil reads from the certificate a client
// presented over TLS (or that a trusted proxy forwarded).
type ClientCertificate struct {
	// Thumbprint is x5t#S256 (RFC 8705 §3.1): base64url without padding
	// of the SHA-256 of the certificate's DER.
	Thumbprint string
	// SubjectDN is the subject as an RFC 4514 string, e.g.
	// "CN=client-1,O=Example,C=DE" (what `openssl x509 -noout -subject
	// -nameopt RFC2253` prints).
	SubjectDN string
	DNSNames  []string
	URIs      []string
	IPs       []netip.Addr
	Emails    []string
	// ChainVerified tells whether the certificate chains to one of the
	// CAs configured for tls_client_auth (tls-client-ca-file).
	ChainVerified bool
	// PublicKey is the certificate's SubjectPublicKeyInfo in DER, for
	// self_signed_tls_client_auth (RFC 8705 §2.2).
	PublicKey []byte
}

// Matches reports whether the certificate names s (RFC 8705 §2.1.2). DNS
// names and e-mail domains compare case-insensitively, IP addresses as
// addresses, DNs and URIs exactly.
func (c ClientCertificate) Matches(s TLSSubject) bool {
	switch s.Kind {
	case TLSSubjectDN:
		return c.SubjectDN == s.Value
	case TLSSubjectSANDNS:
		return slices.ContainsFunc(c.DNSNames, func(n string) bool { return strings.EqualFold(n, s.Value) })
	case TLSSubjectSANURI:
		return slices.Contains(c.URIs, s.Value)
	case TLSSubjectSANIP:
		want, err := netip.ParseAddr(s.Value)
		return err == nil && slices.ContainsFunc(c.IPs, func(a netip.Addr) bool { return a.Unmap() == want.Unmap() })
	case TLSSubjectSANEmail:
		return slices.ContainsFunc(c.Emails, func(e string) bool { return sameEmail(e, s.Value) })
	}
	return false
}

// sameEmail compares local parts exactly and domains without case.
func sameEmail(a, b string) bool {
	al, ad, _ := strings.Cut(a, "@")
	bl, bd, _ := strings.Cut(b, "@")
	return al == bl && strings.EqualFold(ad, bd)
}

// validateTLS checks the mutual-TLS part of a registration.
func (c Client) validateTLS() error {
	bad := func(why string) error { return ErrInvalidClientMetadata.With(why) }
	if c.AllowsAuthMethod(AuthTLSClientAuth) && c.TLSSubject.IsZero() {
		return bad("tls_client_auth needs one of " + joinKinds())
	}
	if !c.TLSSubject.IsZero() && !slices.Contains(TLSSubjectKinds, c.TLSSubject.Kind) {
		return bad("unknown subject kind " + string(c.TLSSubject.Kind))
	}
	if c.TLSSubject.Kind == TLSSubjectSANIP {
		if _, err := netip.ParseAddr(c.TLSSubject.Value); err != nil {
			return bad("tls_client_auth_san_ip must be an IPv4 or IPv6 address")
		}
	}
	if c.AllowsAuthMethod(AuthSelfSignedTLSClientAuth) && (c.JWKS == "") == (c.JWKSURI == "") {
		return bad("self_signed_tls_client_auth needs exactly one of jwks and jwks_uri")
	}
	return nil
}

func joinKinds() string {
	out := make([]string, len(TLSSubjectKinds))
	for i, k := range TLSSubjectKinds {
		out[i] = string(k)
	}
	return strings.Join(out, ", ")
}
