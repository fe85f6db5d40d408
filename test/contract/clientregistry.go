package contract

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// ClientRegistry checks an application.ClientRegistry. newRegistry returns
// an empty registry.
func ClientRegistry(t *testing.T, newRegistry func(t *testing.T) application.ClientRegistry) {
	t.Run("a saved client is found with every field", func(t *testing.T) {
		reg := newRegistry(t)
		want := fullClient()
		mustSaveClient(t, reg, want)

		got, err := reg.FindClient(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("FindClient: %v", err)
		}
		assertSameClient(t, got, want)
	})

	t.Run("the demo clients come back as seeded", func(t *testing.T) {
		reg := newRegistry(t)
		for _, d := range application.DemoClients() {
			c := d.Client
			c.SecretHash = "plain$" + d.Secret
			mustSaveClient(t, reg, c)
		}
		for _, d := range application.DemoClients() {
			got, err := reg.FindClient(t.Context(), d.Client.ID)
			if err != nil {
				t.Fatalf("FindClient(%s): %v", d.Client.ID, err)
			}
			want := d.Client
			want.SecretHash = "plain$" + d.Secret
			assertSameClient(t, got, want)
		}
	})

	t.Run("a client with nothing optional set keeps the defaults", func(t *testing.T) {
		reg := newRegistry(t)
		want := domain.Client{ID: "bare", SecretHash: "h", TokenFormat: domain.FormatJWT}
		mustSaveClient(t, reg, want)

		got, err := reg.FindClient(t.Context(), "bare")
		if err != nil {
			t.Fatalf("FindClient: %v", err)
		}
		assertSameClient(t, got, want)
		if got.Lifetime() != domain.DefaultTokenLifetime {
			t.Errorf("Lifetime() = %v, want the default %v", got.Lifetime(), domain.DefaultTokenLifetime)
		}
		if aud := got.TokenAudience(); !slices.Equal(aud, []string{"bare"}) {
			t.Errorf("TokenAudience() = %v, want the client id", aud)
		}
	})

	t.Run("an unknown id is not found", func(t *testing.T) {
		reg := newRegistry(t)
		mustSaveClient(t, reg, fullClient())

		for _, id := range []string{"nobody", "Service-Client-JWT", "service-client-jw", ""} {
			if got, err := reg.FindClient(t.Context(), id); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("FindClient(%q) = %+v, %v; want domain.ErrNotFound", id, got, err)
			}
		}
	})

	t.Run("saving an id again replaces every field", func(t *testing.T) {
		reg := newRegistry(t)
		first := fullClient()
		mustSaveClient(t, reg, first)
		second := domain.Client{
			ID:            first.ID,
			SecretHash:    "rotated-hash",
			AuthMethods:   []domain.AuthMethod{domain.AuthClientSecretPost},
			GrantTypes:    []domain.GrantType{domain.GrantClientCredentials},
			AllowedScopes: domain.NewScopes("country.read"),
			TokenFormat:   domain.FormatOpaque,
			TokenLifetime: 5 * time.Minute,
			CanIntrospect: false,
		}
		mustSaveClient(t, reg, second)

		got, err := reg.FindClient(t.Context(), first.ID)
		if err != nil {
			t.Fatalf("FindClient: %v", err)
		}
		assertSameClient(t, got, second)
	})

	t.Run("clients are kept apart", func(t *testing.T) {
		reg := newRegistry(t)
		a := fullClient()
		b := fullClient()
		b.ID, b.SecretHash, b.TokenFormat, b.CanIntrospect = "other", "other-hash", domain.FormatOpaque, false
		mustSaveClient(t, reg, a)
		mustSaveClient(t, reg, b)

		for _, want := range []domain.Client{a, b} {
			got, err := reg.FindClient(t.Context(), want.ID)
			if err != nil {
				t.Fatalf("FindClient(%s): %v", want.ID, err)
			}
			assertSameClient(t, got, want)
		}
	})
}

// fullClient sets every field to something other than its zero value.
func fullClient() domain.Client {
	return domain.Client{
		ID:            "service-client-jwt",
		SecretHash:    "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		AuthMethods:   []domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthClientSecretPost},
		GrantTypes:    []domain.GrantType{domain.GrantClientCredentials},
		AllowedScopes: domain.NewScopes("country.read", "customer.read", "customer.write"),
		DefaultScopes: domain.NewScopes("country.read"),
		Audience:      []string{"https://api.example.com", "urn:sigil:resource \"quoted\""},
		TokenFormat:   domain.FormatJWT,
		TokenLifetime: 4 * time.Hour,
		CanIntrospect: true,
	}
}

func mustSaveClient(t *testing.T, reg application.ClientRegistry, c domain.Client) {
	t.Helper()
	if err := reg.SaveClient(t.Context(), c); err != nil {
		t.Fatalf("SaveClient(%s): %v", c.ID, err)
	}
}

// assertSameClient compares field by field, lists by content (nil and
// empty alike, as no caller can tell them apart).
func assertSameClient(t *testing.T, got, want domain.Client) {
	t.Helper()
	var diffs []string
	check := func(field string, same bool, g, w any) {
		if !same {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check("ID", got.ID == want.ID, got.ID, want.ID)
	check("SecretHash", got.SecretHash == want.SecretHash, got.SecretHash, want.SecretHash)
	check("AuthMethods", slices.Equal(got.AuthMethods, want.AuthMethods), got.AuthMethods, want.AuthMethods)
	check("GrantTypes", slices.Equal(got.GrantTypes, want.GrantTypes), got.GrantTypes, want.GrantTypes)
	check("AllowedScopes", slices.Equal(got.AllowedScopes, want.AllowedScopes), got.AllowedScopes, want.AllowedScopes)
	check("DefaultScopes", slices.Equal(got.DefaultScopes, want.DefaultScopes), got.DefaultScopes, want.DefaultScopes)
	check("Audience", slices.Equal(got.Audience, want.Audience), got.Audience, want.Audience)
	check("TokenFormat", got.TokenFormat == want.TokenFormat, got.TokenFormat, want.TokenFormat)
	check("TokenLifetime", got.TokenLifetime == want.TokenLifetime, got.TokenLifetime, want.TokenLifetime)
	check("CanIntrospect", got.CanIntrospect == want.CanIntrospect, got.CanIntrospect, want.CanIntrospect)
	for _, d := range diffs {
		t.Error(d)
	}
}
