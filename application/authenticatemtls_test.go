package application_test

import (
	"errors"
	"testing"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// mtlsEnv is newEnv with the RFC 8705 clients: mtls-pki (tls_client_auth
// by DNS SAN), mtls-self (self_signed_tls_client_auth, key "self-key"),
// and bound (a secret client with certificate-bound tokens).
func mtlsEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	pki := domain.Client{ID: "mtls-pki", AuthMethods: []domain.AuthMethod{domain.AuthTLSClientAuth},
		GrantTypes: []domain.GrantType{domain.GrantClientCredentials}, TokenFormat: domain.FormatOpaque,
		TLSSubject: domain.TLSSubject{Kind: domain.TLSSubjectSANDNS, Value: "billing.example.com"}}
	self := domain.Client{ID: "mtls-self", AuthMethods: []domain.AuthMethod{domain.AuthSelfSignedTLSClientAuth},
		GrantTypes: []domain.GrantType{domain.GrantClientCredentials}, TokenFormat: domain.FormatJWT, JWKS: `{"keys":[]}`}
	bound := domain.Client{ID: "bound", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretPost},
		GrantTypes: []domain.GrantType{domain.GrantClientCredentials}, TokenFormat: domain.FormatJWT, CertBound: true}
	e.saveClient(t, pki)
	e.saveClient(t, self)
	e.addClient(t, bound, "bound-secret")
	e.auth.AcceptCertificates(fakes.CertificateKeys{"mtls-self": {[]byte("self-key")}})
	return e
}

var (
	pkiCert  = &domain.ClientCertificate{Thumbprint: "pki-x5t", DNSNames: []string{"Billing.Example.com"}, ChainVerified: true, PublicKey: []byte("pki-key")}
	selfCert = &domain.ClientCertificate{Thumbprint: "self-x5t", PublicKey: []byte("self-key")}
)

func TestAuthenticateByCertificate(t *testing.T) {
	e := mtlsEnv(t)
	unverified := *pkiCert
	unverified.ChainVerified = false
	otherName := *pkiCert
	otherName.DNSNames = []string{"evil.example.com"}
	tests := []struct {
		name string
		in   application.ClientCredentials
		want error // nil: accepted
	}{
		{"tls_client_auth, SAN and chain good", application.ClientCredentials{ID: "mtls-pki", Certificate: pkiCert}, nil},
		{"tls_client_auth, chain not to a configured CA", application.ClientCredentials{ID: "mtls-pki", Certificate: &unverified}, domain.ErrInvalidClient},
		{"tls_client_auth, another SAN", application.ClientCredentials{ID: "mtls-pki", Certificate: &otherName}, domain.ErrInvalidClient},
		{"self_signed, registered key", application.ClientCredentials{ID: "mtls-self", Certificate: selfCert}, nil},
		{"self_signed, another key", application.ClientCredentials{ID: "mtls-self", Certificate: pkiCert}, domain.ErrInvalidClient},
		{"a client without mTLS", application.ClientCredentials{ID: "bound", Certificate: pkiCert}, domain.ErrInvalidClient},
		{"unknown client", application.ClientCredentials{ID: "nobody", Certificate: pkiCert}, domain.ErrInvalidClient},
		{"no client_id", application.ClientCredentials{Certificate: pkiCert}, domain.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.auth.Handle(t.Context(), tt.in)
			switch {
			case tt.want == nil && (err != nil || c.ID != tt.in.ID):
				t.Fatalf("Handle = %v, %v; want client %s", c.ID, err, tt.in.ID)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("Handle = %v, %v; want %v", c.ID, err, tt.want)
			}
		})
	}
}

func TestCertificatesOffByDefault(t *testing.T) {
	e := newEnv(t)
	e.saveClient(t, domain.Client{ID: "mtls-pki", AuthMethods: []domain.AuthMethod{domain.AuthTLSClientAuth},
		GrantTypes: []domain.GrantType{domain.GrantClientCredentials}, TokenFormat: domain.FormatOpaque,
		TLSSubject: domain.TLSSubject{Kind: domain.TLSSubjectSANDNS, Value: "billing.example.com"}})
	if _, err := e.auth.Handle(t.Context(), application.ClientCredentials{ID: "mtls-pki", Certificate: pkiCert}); !errors.Is(err, domain.ErrInvalidClient) {
		t.Fatalf("a certificate was accepted with mutual TLS off: %v", err)
	}
}

func TestIssueTokenCertificateBinding(t *testing.T) {
	e := mtlsEnv(t)
	issue := func(creds application.ClientCredentials) (domain.Token, error) {
		t.Helper()
		out, err := e.issue.Handle(t.Context(), application.IssueTokenInput{Credentials: creds, GrantType: "client_credentials"})
		if err != nil {
			return domain.Token{}, err
		}
		if application.LooksLikeJWT(out.AccessToken) {
			return e.verifier.VerifyAccessToken(t.Context(), out.AccessToken)
		}
		return e.tokens.FindToken(t.Context(), out.AccessToken)
	}
	t.Run("a client authenticated by certificate gets a token bound to it", func(t *testing.T) {
		tok, err := issue(application.ClientCredentials{ID: "mtls-pki", Certificate: pkiCert})
		if err != nil || tok.X5T != "pki-x5t" || tok.Type() != domain.TokenTypeBearer {
			t.Fatalf("token %+v, %v; want bound to pki-x5t, type Bearer", tok, err)
		}
	})
	t.Run("tls_client_certificate_bound_access_tokens binds a secret client's token", func(t *testing.T) {
		tok, err := issue(application.ClientCredentials{ID: "bound", Secret: "bound-secret", Method: domain.AuthClientSecretPost, Certificate: selfCert})
		if err != nil || tok.X5T != "self-x5t" {
			t.Fatalf("token %+v, %v; want bound to self-x5t", tok, err)
		}
		if _, err := issue(application.ClientCredentials{ID: "bound", Secret: "bound-secret", Method: domain.AuthClientSecretPost}); !errors.Is(err, domain.ErrInvalidRequest) {
			t.Fatalf("without a certificate: %v, want invalid_request", err)
		}
	})
	t.Run("another client's token is not bound to a certificate it happens to present", func(t *testing.T) {
		tok, err := issue(application.ClientCredentials{ID: jwtClientID, Secret: jwtSecret, Method: domain.AuthClientSecretPost, Certificate: pkiCert})
		if err != nil || tok.X5T != "" {
			t.Fatalf("token %+v, %v; want unbound", tok, err)
		}
	})
}
