package domain_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/sigilauth/sigil/domain"
)

func TestClientCertificateMatches(t *testing.T) {
	cert := domain.ClientCertificate{
		SubjectDN: "CN=billing,O=Example,C=DE",
		DNSNames:  []string{"billing.example.com"},
		URIs:      []string{"spiffe://example.com/billing"},
		IPs:       []netip.Addr{netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::1")},
		Emails:    []string{"billing@Example.com"},
	}
	tests := []struct {
		subject domain.TLSSubject
		want    bool
	}{
		{domain.TLSSubject{Kind: domain.TLSSubjectDN, Value: "CN=billing,O=Example,C=DE"}, true},
		{domain.TLSSubject{Kind: domain.TLSSubjectDN, Value: "CN=billing,O=Example"}, false},
		{domain.TLSSubject{Kind: domain.TLSSubjectSANDNS, Value: "BILLING.example.com"}, true},
		{domain.TLSSubject{Kind: domain.TLSSubjectSANDNS, Value: "example.com"}, false},
		{domain.TLSSubject{Kind: domain.TLSSubjectSANURI, Value: "spiffe://example.com/billing"}, true},
		{domain.TLSSubject{Kind: domain.TLSSubjectSANURI, Value: "spiffe://example.com/Billing"}, false},
		{domain.TLSSubject{Kind: domain.TLSSubjectSANIP, Value: "2001:0db8::0001"}, true},
		{domain.TLSSubject{Kind: domain.TLSSubjectSANIP, Value: "192.0.2.8"}, false},
		{domain.TLSSubject{Kind: domain.TLSSubjectSANEmail, Value: "billing@example.COM"}, true},
		{domain.TLSSubject{Kind: domain.TLSSubjectSANEmail, Value: "Billing@example.com"}, false},
		// A DN value is not a SAN: the kind decides where to look.
		{domain.TLSSubject{Kind: domain.TLSSubjectSANDNS, Value: "CN=billing,O=Example,C=DE"}, false},
		{domain.TLSSubject{}, false},
	}
	for _, tt := range tests {
		if got := cert.Matches(tt.subject); got != tt.want {
			t.Errorf("Matches(%s %q) = %v, want %v", tt.subject.Kind, tt.subject.Value, got, tt.want)
		}
	}
}

func TestNewTLSSubject(t *testing.T) {
	s, err := domain.NewTLSSubject(map[domain.TLSSubjectKind]string{domain.TLSSubjectSANURI: "urn:x", domain.TLSSubjectDN: ""})
	if err != nil || s != (domain.TLSSubject{Kind: domain.TLSSubjectSANURI, Value: "urn:x"}) {
		t.Errorf("one subject: %+v, %v", s, err)
	}
	if _, err := domain.NewTLSSubject(map[domain.TLSSubjectKind]string{domain.TLSSubjectSANURI: "urn:x", domain.TLSSubjectDN: "CN=x"}); !errors.Is(err, domain.ErrInvalidClientMetadata) {
		t.Errorf("two subjects: %v, want invalid_client_metadata (RFC 8705 §2.1.2: exactly one)", err)
	}
}

func TestValidateMTLSClients(t *testing.T) {
	base := func(methods ...domain.AuthMethod) domain.Client {
		return domain.Client{ID: "c", TokenFormat: domain.FormatJWT, AuthMethods: methods, GrantTypes: []domain.GrantType{domain.GrantClientCredentials}}
	}
	ok := base(domain.AuthTLSClientAuth)
	ok.TLSSubject = domain.TLSSubject{Kind: domain.TLSSubjectSANIP, Value: "192.0.2.7"}
	badIP := ok
	badIP.TLSSubject.Value = "not-an-ip"
	self := base(domain.AuthSelfSignedTLSClientAuth)
	self.JWKSURI = "https://client.example.com/jwks"
	tests := map[string]struct {
		c    domain.Client
		good bool
	}{
		"tls_client_auth with a subject":        {ok, true},
		"tls_client_auth without a subject":     {base(domain.AuthTLSClientAuth), false},
		"tls_client_auth_san_ip not an address": {badIP, false},
		"self_signed with a jwks_uri":           {self, true},
		"self_signed without keys":              {base(domain.AuthSelfSignedTLSClientAuth), false},
	}
	for name, tt := range tests {
		if err := tt.c.Validate(); (err == nil) != tt.good {
			t.Errorf("%s: Validate = %v, want good %v", name, err, tt.good)
		}
	}
}
