package adminwire_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/internal/adminwire"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

func ptr[T any](v T) *T { return &v }

// What adminclient writes, adminhttp reads as the same change.
func TestPatchRoundTrip(t *testing.T) {
	for _, p := range []application.ClientPatch{
		{},
		{Scopes: ptr(domain.NewScopes("a", "b")), ResetDefaultScopes: true},
		{TokenFormat: ptr(domain.FormatOpaque), TokenLifetime: ptr(90 * time.Minute), Introspect: ptr(false), DPoPBound: ptr(true),
			AuthMethods: ptr([]domain.AuthMethod{domain.AuthPrivateKeyJWT}), DefaultScopes: ptr(domain.NewScopes()),
			Resources: ptr([]string{"https://api.example.com"}), JWKSURI: ptr("https://c.example/jwks"), JWKS: ptr("")},
		{TLSSubject: ptr(domain.TLSSubject{Kind: domain.TLSSubjectSANDNS, Value: "billing.example.com"}), CertBound: ptr(true), Profile: ptr(domain.ProfileFAPI2)},
		{TLSSubject: ptr(domain.TLSSubject{}), CertBound: ptr(false), Profile: ptr(domain.Profile(""))},
		{Exchange: ptr(domain.ExchangePolicy{Audiences: []string{"https://c.example"}, SubjectAudiences: []string{"https://b.example"},
			Scopes: domain.NewScopes("orders.read"), Delegate: true})},
		{Exchange: ptr(domain.ExchangePolicy{})},
	} {
		raw, err := adminwire.EncodePatch(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := adminwire.DecodePatch(raw, "c")
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("%s read back as\n%+v, want\n%+v", raw, got, p)
		}
	}
}

// null resets a field to what a clients file that omits it gives.
func TestPatchNullResets(t *testing.T) {
	got, err := adminwire.DecodePatch([]byte(`{"token_format":null,"auth_methods":null,"default_scopes":null,"audience":null,"id":"c"}`), "c")
	if err != nil {
		t.Fatal(err)
	}
	want := application.ClientPatch{
		TokenFormat:        ptr(domain.FormatJWT),
		AuthMethods:        ptr([]domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthClientSecretPost}),
		ResetDefaultScopes: true,
		Audience:           ptr([]string(nil)),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{`[]`, `null`, `{"id":"other"}`, `{"secrets":[]}`, `{"scope":["a"]}`, `{"scopes":"a"}`, `{"token_lifetime":"soon"}`} {
		_, err := adminwire.DecodePatch([]byte(bad), "c")
		if !errors.Is(err, domain.ErrInvalidRequest) && !errors.Is(err, domain.ErrInvalidClientMetadata) {
			t.Errorf("%s: %v, want a refusal the API answers 400 or 422", bad, err)
		}
	}
}

// A client shown by the API reads back as the client it is, secret
// material aside.
func TestClientViewRoundTrip(t *testing.T) {
	c := domain.Client{
		ID: "c", TokenFormat: domain.FormatJWT, TokenLifetime: time.Hour,
		AuthMethods: []domain.AuthMethod{domain.AuthPrivateKeyJWT}, GrantTypes: []domain.GrantType{domain.GrantClientCredentials, domain.GrantTokenExchange},
		AllowedScopes: domain.NewScopes("a"), DefaultScopes: domain.NewScopes(), Resources: []string{"https://api.example.com"},
		Exchange: domain.ExchangePolicy{Audiences: []string{"https://c.example"}, Scopes: domain.NewScopes("a"), Delegate: true},
		JWKS:     `{"keys":[]}`, CanIntrospect: true, DPoPBound: true,
		TLSSubject: domain.TLSSubject{Kind: domain.TLSSubjectSANIP, Value: "192.0.2.7"}, CertBound: true,
		Profile: domain.ProfileFAPI2,
		Secrets: []domain.ClientSecret{{ID: "s", ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	got, err := adminwire.ViewOf(c).ToDomain()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("read back as\n%+v, want\n%+v", got, c)
	}
}
