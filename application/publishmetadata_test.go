package application_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// staticMetadata is what bootstrap fixes at start.
func staticMetadata() application.ServerMetadata {
	return application.ServerMetadata{
		Issuer:                issuer,
		TokenEndpoint:         tokenEndpoint,
		JWKSURI:               issuer + "/oauth2/jwks",
		IntrospectionEndpoint: issuer + "/oauth2/introspect",
		RevocationEndpoint:    issuer + "/oauth2/revoke",
		GrantTypes:            []string{"client_credentials"},
		AuthMethods:           []string{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"},
		AuthSigningAlgs:       []string{"HS256", "RS256", "ES256"},
	}
}

func TestPublishMetadataStaticFields(t *testing.T) {
	e := newEnv(t)
	got, err := application.NewPublishMetadata(staticMetadata(), e.clients, e.ring).Handle(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := staticMetadata()
	got.Scopes, got.IntrospectionSigningAlgs = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("static metadata changed on the way:\ngot  %+v\nwant %+v", got, want)
	}
}

// scopes_supported (RFC 8414 §2) is every scope some client may get, as
// the clients are now.
func TestPublishMetadataScopes(t *testing.T) {
	e := newEnv(t)
	publish := application.NewPublishMetadata(staticMetadata(), e.clients, e.ring)
	scopes := func() []string {
		t.Helper()
		m, err := publish.Handle(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return m.Scopes
	}
	if got, want := scopes(), []string{"country.read", "customer.read", "customer.write"}; !slices.Equal(got, want) {
		t.Errorf("scopes = %q, want %q (the demo clients' allowed scopes)", got, want)
	}

	e.addClient(t, domain.Client{
		ID: "reports", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretPost}, GrantTypes: cc,
		AllowedScopes: domain.NewScopes("reports.read", "country.read"), TokenFormat: domain.FormatOpaque,
	}, "reports-secret")
	if got, want := scopes(), []string{"country.read", "customer.read", "customer.write", "reports.read"}; !slices.Equal(got, want) {
		t.Errorf("after registering a client: scopes = %q, want %q", got, want)
	}
}

// The introspection signing algorithm is the active key's, whatever it is
// when asked.
func TestPublishMetadataIntrospectionAlgFollowsActiveKey(t *testing.T) {
	e := newEnv(t)
	publish := application.NewPublishMetadata(staticMetadata(), e.clients, e.ring)
	algs := func() []string {
		t.Helper()
		m, err := publish.Handle(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return m.IntrospectionSigningAlgs
	}
	if got := algs(); !slices.Equal(got, []string{"RS256"}) {
		t.Errorf("with an RS256 key active: introspection algs = %q, want [RS256]", got)
	}

	gen := &fakes.KeyGenerator{}
	old := e.activeKey
	old.State = domain.KeyRetired
	next, err := gen.GenerateSigningKey(domain.ES256)
	if err != nil {
		t.Fatal(err)
	}
	next.State = domain.KeyActive
	e.ring.Set([]domain.SigningKey{old, next})
	if got := algs(); !slices.Equal(got, []string{"ES256"}) {
		t.Errorf("after rotating to ES256: introspection algs = %q, want [ES256]", got)
	}

	e.ring.Set([]domain.SigningKey{old})
	if got := algs(); len(got) != 0 {
		t.Errorf("with no active key: introspection algs = %q, want none", got)
	}
}

func TestPublishMetadataStoreFailure(t *testing.T) {
	e := newEnv(t)
	_, err := application.NewPublishMetadata(staticMetadata(), fakes.BrokenClients{}, e.ring).Handle(t.Context())
	wantInfraError(t, err, fakes.ErrDown)
}
