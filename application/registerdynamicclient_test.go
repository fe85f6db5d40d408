package application_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

const initialToken = "initial-access-token-of-at-least-32-chars"

// dcr is dynamic registration over the admin use cases and fakes.
type dcr struct {
	*admin
	store    *fakes.Registrations
	register *application.RegisterDynamicClient
	manage   *application.ManageRegistration
}

var trustedStatement = fakes.Statements{
	Claims: map[string]application.ClientMetadata{
		"good-statement": {ClientName: "from statement", Scope: "customer.read", TokenFormat: "opaque"},
	},
	Err: domain.ErrUnapprovedSoftwareStatement.With("not signed by a trusted issuer"),
}

func newDCR(t *testing.T, change func(p *application.RegistrationPolicy)) *dcr {
	t.Helper()
	a := newAdmin(t)
	sum := sha256.Sum256([]byte(initialToken))
	policy := application.RegistrationPolicy{InitialTokenHash: sum[:], Scopes: domain.NewScopes("country.read", "customer.read")}
	if change != nil {
		change(&policy)
	}
	d := &dcr{admin: a, store: fakes.NewRegistrations()}
	d.register = application.NewRegisterDynamicClient(policy, a.apply, d.store, trustedStatement, a.clients, a.clock, rand.Reader)
	d.manage = application.NewManageRegistration(policy, a.clients, d.store, a.patch, a.del, trustedStatement, a.clients)
	return d
}

func (d *dcr) registerOK(t *testing.T, m application.ClientMetadata) application.RegisteredClient {
	t.Helper()
	out, err := d.register.Handle(t.Context(), application.RegisterDynamicClientInput{InitialToken: initialToken, Metadata: m})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return out
}

func TestRegisterDynamicClientIssuesCredentials(t *testing.T) {
	d := newDCR(t, func(p *application.RegistrationPolicy) { p.SecretLifetime = time.Hour })
	out := d.registerOK(t, application.ClientMetadata{ClientName: "svc", Scope: "country.read"})
	if out.ClientID == "" || len(out.ClientSecret) < 32 || len(out.RegistrationToken) < 32 || !out.IssuedAt.Equal(t0) ||
		!out.SecretExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("credentials %+v", out)
	}
	m := out.Metadata
	if m.TokenEndpointAuthMethod != "client_secret_basic" || m.Scope != "country.read" || m.TokenFormat != "jwt" ||
		len(m.GrantTypes) != 1 || m.GrantTypes[0] != "client_credentials" || m.ClientName != "svc" {
		t.Errorf("metadata %+v, want RFC 7591's defaults", m)
	}
	c, err := d.clients.FindClient(t.Context(), out.ClientID)
	if err != nil || len(c.Secrets) != 1 || string(c.Secrets[0].Hash) == out.ClientSecret {
		t.Fatalf("stored client %+v %v: want one hashed secret", c, err)
	}
	if ev := d.audit.Events(); len(ev) != 1 || ev[0].Kind != application.AuditClientCreated || ev[0].ClientID != out.ClientID {
		t.Errorf("audit %+v, want one client_created", ev)
	}
	reg, _ := d.store.FindRegistration(t.Context(), out.ClientID)
	if string(reg.TokenHash) == out.RegistrationToken || len(reg.TokenHash) != sha256.Size {
		t.Errorf("registration token kept as %x, want its SHA-256", reg.TokenHash)
	}
}

func TestRegisterDynamicClientWithKeysGetsNoSecret(t *testing.T) {
	d := newDCR(t, nil)
	out := d.registerOK(t, application.ClientMetadata{TokenEndpointAuthMethod: "private_key_jwt", JWKSURI: "https://svc.example/jwks"})
	if out.ClientSecret != "" || out.Metadata.JWKSURI != "https://svc.example/jwks" || out.Metadata.Scope != "country.read customer.read" {
		t.Errorf("%+v: want no secret, the jwks_uri, and the whole ceiling as scope", out)
	}
}

func TestRegisterDynamicClientRefusals(t *testing.T) {
	d := newDCR(t, nil)
	yes := true
	tests := []struct {
		name  string
		token string
		m     application.ClientMetadata
		want  *domain.Error
	}{
		{"no initial token", "", application.ClientMetadata{}, domain.ErrInvalidToken},
		{"wrong initial token", initialToken + "x", application.ClientMetadata{}, domain.ErrInvalidToken},
		{"auth method none", initialToken, application.ClientMetadata{TokenEndpointAuthMethod: "none"}, domain.ErrInvalidClientMetadata},
		{"unknown grant", initialToken, application.ClientMetadata{GrantTypes: []string{"authorization_code"}}, domain.ErrInvalidClientMetadata},
		{"empty grants", initialToken, application.ClientMetadata{GrantTypes: []string{}}, domain.ErrInvalidClientMetadata},
		{"scope above the ceiling", initialToken, application.ClientMetadata{Scope: "country.read admin"}, domain.ErrInvalidClientMetadata},
		{"bad scope token", initialToken, application.ClientMetadata{Scope: "a\"b"}, domain.ErrInvalidClientMetadata},
		{"bad token format", initialToken, application.ClientMetadata{TokenFormat: "paseto"}, domain.ErrInvalidClientMetadata},
		{"private_key_jwt without keys", initialToken, application.ClientMetadata{TokenEndpointAuthMethod: "private_key_jwt"}, domain.ErrInvalidClientMetadata},
		{"jwks and jwks_uri", initialToken, application.ClientMetadata{TokenEndpointAuthMethod: "private_key_jwt", JWKS: `{"keys":[]}`, JWKSURI: "https://x.example/j"}, domain.ErrInvalidClientMetadata},
		{"relative resource", initialToken, application.ClientMetadata{Resources: []string{"/api"}, DPoPBound: &yes}, domain.ErrInvalidClientMetadata},
		{"untrusted statement", initialToken, application.ClientMetadata{SoftwareStatement: "forged"}, domain.ErrUnapprovedSoftwareStatement},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.register.Handle(t.Context(), application.RegisterDynamicClientInput{InitialToken: tt.token, Metadata: tt.m})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %s", err, tt.want.Code)
			}
		})
	}
	if list, _ := d.clients.ListClients(t.Context()); len(list) != 0 {
		t.Errorf("refused registrations left clients %v", list)
	}
}

func TestRegisterDynamicClientStatementOverridesRequest(t *testing.T) {
	d := newDCR(t, nil)
	out := d.registerOK(t, application.ClientMetadata{ClientName: "from request", Scope: "country.read", SoftwareStatement: "good-statement"})
	if m := out.Metadata; m.ClientName != "from statement" || m.Scope != "customer.read" || m.TokenFormat != "opaque" {
		t.Errorf("metadata %+v, want the statement's claims over the request's", m)
	}
}

func TestRegisterDynamicClientWithoutTrustedSigners(t *testing.T) {
	a := newAdmin(t)
	h := application.NewRegisterDynamicClient(application.RegistrationPolicy{Open: true}, a.apply, fakes.NewRegistrations(), nil, a.clients, a.clock, rand.Reader)
	_, err := h.Handle(t.Context(), application.RegisterDynamicClientInput{Metadata: application.ClientMetadata{SoftwareStatement: "x"}})
	if !errors.Is(err, domain.ErrUnapprovedSoftwareStatement) {
		t.Fatalf("err = %v, want unapproved_software_statement", err)
	}
}

func TestOpenRegistrationNeedsNoToken(t *testing.T) {
	d := newDCR(t, func(p *application.RegistrationPolicy) { p.Open = true; p.InitialTokenHash = nil })
	if _, err := d.register.Handle(t.Context(), application.RegisterDynamicClientInput{}); err != nil {
		t.Fatalf("open registration: %v", err)
	}
}

func TestClosedRegistrationWithoutHashRefusesEveryToken(t *testing.T) {
	d := newDCR(t, func(p *application.RegistrationPolicy) { p.InitialTokenHash = nil })
	if _, err := d.register.Handle(t.Context(), application.RegisterDynamicClientInput{InitialToken: initialToken}); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("err = %v, want invalid_token", err)
	}
}

func manage(d *dcr, ctx context.Context, in application.ManageRegistrationInput) (application.RegisteredClient, error) {
	return d.manage.Handle(ctx, in)
}

func TestManageRegistrationReadReplaceDelete(t *testing.T) {
	d := newDCR(t, nil)
	out := d.registerOK(t, application.ClientMetadata{ClientName: "svc", Scope: "country.read"})
	ctx := t.Context()
	in := application.ManageRegistrationInput{ClientID: out.ClientID, Token: out.RegistrationToken}

	got, err := manage(d, ctx, in)
	if err != nil || got.Metadata.ClientName != "svc" || got.Metadata.Scope != "country.read" || got.ClientSecret != "" {
		t.Fatalf("read %+v %v", got, err)
	}

	in.Action, in.BodyClientID = application.ReplaceRegistration, out.ClientID
	in.Metadata = application.ClientMetadata{ClientName: "renamed", Scope: "customer.read", TokenFormat: "opaque"}
	got, err = manage(d, ctx, in)
	if err != nil || got.Metadata.ClientName != "renamed" || got.Metadata.Scope != "customer.read" || got.Metadata.TokenFormat != "opaque" {
		t.Fatalf("replace %+v %v", got, err)
	}
	c, _ := d.clients.FindClient(ctx, out.ClientID)
	if len(c.Secrets) != 1 {
		t.Errorf("replace dropped the secret: %+v", c.Secrets)
	}

	in.BodyClientID = "other"
	if _, err := manage(d, ctx, in); !errors.Is(err, domain.ErrInvalidClientMetadata) {
		t.Errorf("replace naming another client: %v, want invalid_client_metadata", err)
	}

	in.Action = application.DeleteRegistration
	if _, err := manage(d, ctx, in); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := d.clients.FindClient(ctx, out.ClientID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("client still there after delete: %v", err)
	}
	in.Action = application.ReadRegistration
	if _, err := manage(d, ctx, in); !errors.Is(err, domain.ErrInvalidToken) {
		t.Errorf("read after delete: %v, want invalid_token", err)
	}
}

func TestManageRegistrationRefusesOtherTokens(t *testing.T) {
	d := newDCR(t, nil)
	a := d.registerOK(t, application.ClientMetadata{})
	b := d.registerOK(t, application.ClientMetadata{})
	for name, in := range map[string]application.ManageRegistrationInput{
		"no token":           {ClientID: a.ClientID},
		"wrong token":        {ClientID: a.ClientID, Token: a.RegistrationToken + "x"},
		"another's token":    {ClientID: a.ClientID, Token: b.RegistrationToken},
		"initial token":      {ClientID: a.ClientID, Token: initialToken},
		"unknown client":     {ClientID: "nobody", Token: a.RegistrationToken},
		"admin-made client":  {ClientID: "svc", Token: a.RegistrationToken},
		"delete, bad token":  {ClientID: a.ClientID, Token: "x", Action: application.DeleteRegistration},
		"replace, bad token": {ClientID: a.ClientID, Token: "x", Action: application.ReplaceRegistration, BodyClientID: a.ClientID},
	} {
		if _, err := manage(d, t.Context(), in); !errors.Is(err, domain.ErrInvalidToken) {
			t.Errorf("%s: %v, want invalid_token", name, err)
		}
	}
	if _, err := d.clients.FindClient(t.Context(), a.ClientID); err != nil {
		t.Errorf("client gone after refused requests: %v", err)
	}
}

func TestManageRegistrationCannotMoveToASecretWithoutOne(t *testing.T) {
	d := newDCR(t, nil)
	out := d.registerOK(t, application.ClientMetadata{TokenEndpointAuthMethod: "private_key_jwt", JWKSURI: "https://svc.example/jwks"})
	_, err := manage(d, t.Context(), application.ManageRegistrationInput{ClientID: out.ClientID, Token: out.RegistrationToken,
		Action: application.ReplaceRegistration, BodyClientID: out.ClientID, Metadata: application.ClientMetadata{TokenEndpointAuthMethod: "client_secret_post"}})
	if !errors.Is(err, domain.ErrInvalidClientMetadata) {
		t.Fatalf("err = %v, want invalid_client_metadata", err)
	}
}

// TestUnreadableMetadataAfterTheToken: a caller without a valid token
// learns only that, whatever its body.
func TestUnreadableMetadataAfterTheToken(t *testing.T) {
	d := newDCR(t, nil)
	bad := domain.ErrInvalidClientMetadata.With("not JSON")
	if _, err := d.register.Handle(t.Context(), application.RegisterDynamicClientInput{Unreadable: bad}); !errors.Is(err, domain.ErrInvalidToken) {
		t.Errorf("no token, bad body: %v, want invalid_token", err)
	}
	if _, err := d.register.Handle(t.Context(), application.RegisterDynamicClientInput{InitialToken: initialToken, Unreadable: bad}); !errors.Is(err, bad) {
		t.Errorf("token, bad body: %v, want the body's error", err)
	}
	out := d.registerOK(t, application.ClientMetadata{})
	in := application.ManageRegistrationInput{ClientID: out.ClientID, Action: application.ReplaceRegistration, Unreadable: bad}
	if _, err := manage(d, t.Context(), in); !errors.Is(err, domain.ErrInvalidToken) {
		t.Errorf("replace without token, bad body: %v, want invalid_token", err)
	}
	in.Token = out.RegistrationToken
	if _, err := manage(d, t.Context(), in); !errors.Is(err, bad) {
		t.Errorf("replace with token, bad body: %v, want the body's error", err)
	}
}

func TestRegisterMTLSClientsOnlyWhereCertificatesAreAsked(t *testing.T) {
	dn := map[domain.TLSSubjectKind]string{domain.TLSSubjectDN: "CN=inventory,O=Example"}
	bound := true
	withMTLS := newDCR(t, func(p *application.RegistrationPolicy) { p.MTLS = true })
	out := withMTLS.registerOK(t, application.ClientMetadata{TokenEndpointAuthMethod: "tls_client_auth", TLSSubject: dn, CertBound: &bound, Scope: "country.read"})
	c, err := withMTLS.clients.FindClient(t.Context(), out.ClientID)
	if err != nil || !c.AllowsAuthMethod(domain.AuthTLSClientAuth) || c.TLSSubject.Value != "CN=inventory,O=Example" || !c.CertBound || len(c.Secrets) != 0 {
		t.Fatalf("registered %+v, %v: want a tls_client_auth client of that subject, certificate-bound, no secret", c, err)
	}
	if out.ClientSecret != "" || out.Metadata.TLSSubject[domain.TLSSubjectDN] != "CN=inventory,O=Example" || out.Metadata.CertBound == nil || !*out.Metadata.CertBound {
		t.Errorf("answer %+v: want the subject and the binding back, and no secret", out)
	}

	without := newDCR(t, nil)
	for name, m := range map[string]application.ClientMetadata{
		"tls_client_auth without mTLS": {TokenEndpointAuthMethod: "tls_client_auth", TLSSubject: dn},
		"binding without mTLS":         {CertBound: &bound},
	} {
		_, err := without.register.Handle(t.Context(), application.RegisterDynamicClientInput{InitialToken: initialToken, Metadata: m})
		if !errors.Is(err, domain.ErrInvalidClientMetadata) {
			t.Errorf("%s: %v, want invalid_client_metadata", name, err)
		}
	}
	for name, m := range map[string]application.ClientMetadata{
		"tls_client_auth without a subject": {TokenEndpointAuthMethod: "tls_client_auth"},
		"two subjects": {TokenEndpointAuthMethod: "tls_client_auth",
			TLSSubject: map[domain.TLSSubjectKind]string{domain.TLSSubjectDN: "CN=a", domain.TLSSubjectSANDNS: "a.example"}},
		"self-signed without keys": {TokenEndpointAuthMethod: "self_signed_tls_client_auth"},
	} {
		_, err := withMTLS.register.Handle(t.Context(), application.RegisterDynamicClientInput{InitialToken: initialToken, Metadata: m})
		if !errors.Is(err, domain.ErrInvalidClientMetadata) {
			t.Errorf("%s: %v, want invalid_client_metadata", name, err)
		}
	}
}
