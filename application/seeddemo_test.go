package application_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

func TestSeedDemoClients(t *testing.T) {
	clients := fakes.NewClients()
	hasher := &countingHasher{}
	ids, err := application.NewSeedDemoClients(clients, hasher).Handle(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{jwtClientID, opaqueClientID}; !slices.Equal(ids, want) {
		t.Errorf("seeded ids = %q, want %q", ids, want)
	}

	auth := newAuth(t, clients, hasher)
	tests := []struct {
		id, secret string
		format     domain.TokenFormat
		scope      string
		introspect bool
	}{
		{jwtClientID, jwtSecret, domain.FormatJWT, seedJWTScope, true},
		{opaqueClientID, opaqueSecret, domain.FormatOpaque, seedOpaqueScope, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			stored, err := clients.FindClient(t.Context(), tt.id)
			if err != nil {
				t.Fatalf("demo client not stored: %v", err)
			}
			// One secret, named "demo", kept only as a hash and without
			// expiry, so the walkthrough keeps working.
			if len(stored.Secrets) != 1 {
				t.Fatalf("stored %d secrets, want one: %+v", len(stored.Secrets), stored.Secrets)
			}
			s := stored.Secrets[0]
			if s.ID != "demo" {
				t.Errorf("secret id = %q, want demo", s.ID)
			}
			if s.Hash == "" || s.Hash == tt.secret {
				t.Errorf("secret stored as %q, want a hash", s.Hash)
			}
			if !s.ExpiresAt.IsZero() || len(s.Sealed) != 0 {
				t.Errorf("demo secret expires %v, sealed %q: want no expiry and no sealed copy", s.ExpiresAt, s.Sealed)
			}
			if err := stored.Validate(); err != nil {
				t.Errorf("seeded client does not pass Validate: %v", err)
			}
			for _, m := range []domain.AuthMethod{domain.AuthClientSecretPost, domain.AuthClientSecretBasic} {
				if _, err := auth.Handle(t.Context(), application.ClientCredentials{ID: tt.id, Secret: tt.secret, Method: m}); err != nil {
					t.Errorf("seed secret does not authenticate with %s: %v", m, err)
				}
			}
			if stored.TokenFormat != tt.format || stored.AllowedScopes.String() != tt.scope ||
				stored.DefaultScopes.String() != tt.scope || stored.CanIntrospect != tt.introspect ||
				!stored.AllowsGrant(domain.GrantClientCredentials) {
				t.Errorf("stored client %+v does not match the seed", stored)
			}
		})
	}
}

func TestSeedDemoClientsIsIdempotent(t *testing.T) {
	clients := fakes.NewClients()
	hasher := &countingHasher{}
	seed := application.NewSeedDemoClients(clients, hasher)
	first, err := seed.Handle(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, clients)
	hashes := hasher.hashes.Load()

	second, err := seed.Handle(t.Context())
	if err != nil {
		t.Fatalf("second seeding: %v", err)
	}
	if !slices.Equal(first, second) {
		t.Errorf("second seeding returned %q, first %q", second, first)
	}
	if n := hasher.hashes.Load() - hashes; n != 0 {
		t.Errorf("second seeding hashed %d secrets, want none", n)
	}
	if after := snapshot(t, clients); !reflect.DeepEqual(before, after) {
		t.Errorf("second seeding changed the clients:\nbefore %+v\nafter  %+v", before, after)
	}
}

// An operator who registered service-client-jwt with their own secret must
// not find it reset to the public demo secret.
func TestSeedDemoClientsLeavesExistingClient(t *testing.T) {
	clients := fakes.NewClients()
	own := domain.Client{
		ID: jwtClientID, Secrets: []domain.ClientSecret{{ID: "operator", Hash: "plain$operator-secret"}},
		AuthMethods:   []domain.AuthMethod{domain.AuthClientSecretBasic},
		GrantTypes:    []domain.GrantType{domain.GrantClientCredentials},
		AllowedScopes: domain.NewScopes("country.read"), TokenFormat: domain.FormatOpaque,
	}
	if err := clients.SaveClient(t.Context(), own); err != nil {
		t.Fatal(err)
	}
	hasher := &countingHasher{}
	ids, err := application.NewSeedDemoClients(clients, hasher).Handle(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, jwtClientID) || !slices.Contains(ids, opaqueClientID) {
		t.Errorf("ids = %q, want both demo clients reported registered", ids)
	}
	got, err := clients.FindClient(t.Context(), jwtClientID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, own) {
		t.Errorf("existing client changed:\nwas %+v\nnow %+v", own, got)
	}

	auth := newAuth(t, clients, hasher)
	if _, err := auth.Handle(t.Context(), application.ClientCredentials{ID: jwtClientID, Secret: jwtSecret, Method: domain.AuthClientSecretBasic}); err == nil {
		t.Error("the demo secret authenticates the operator's client")
	}
	if _, err := auth.Handle(t.Context(), application.ClientCredentials{ID: jwtClientID, Secret: "operator-secret", Method: domain.AuthClientSecretBasic}); err != nil {
		t.Errorf("the operator's secret no longer authenticates: %v", err)
	}
	if _, err := auth.Handle(t.Context(), post(opaqueClientID, opaqueSecret)); err != nil {
		t.Errorf("the missing demo client was not seeded: %v", err)
	}
}

func TestSeedDemoClientsStoreFailure(t *testing.T) {
	ids, err := application.NewSeedDemoClients(fakes.BrokenClients{}, &countingHasher{}).Handle(t.Context())
	wantInfraError(t, err, fakes.ErrDown)
	if ids != nil {
		t.Errorf("failed seeding reported ids %q", ids)
	}
}

func snapshot(t *testing.T, clients *fakes.Clients) map[string]domain.Client {
	t.Helper()
	out := map[string]domain.Client{}
	for _, id := range []string{jwtClientID, opaqueClientID} {
		c, err := clients.FindClient(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = c
	}
	return out
}

// The walkthrough's JWT client may ask a token for the walkthrough's
// resource server (RFC 8707); the opaque client may not.
func TestSeedDemoClientsResource(t *testing.T) {
	clients := fakes.NewClients()
	if _, err := application.NewSeedDemoClients(clients, fakes.Hasher{}).Handle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !domain.ValidResourceIndicator(application.DemoResource) {
		t.Fatalf("DemoResource %q is no valid resource indicator", application.DemoResource)
	}
	jwtClient, err := clients.FindClient(t.Context(), jwtClientID)
	if err != nil {
		t.Fatal(err)
	}
	aud, err := jwtClient.TokenAudience([]string{application.DemoResource})
	if err != nil {
		t.Fatalf("%s may not ask for %s: %v", jwtClientID, application.DemoResource, err)
	}
	if !slices.Equal(aud, []string{application.DemoResource}) {
		t.Errorf("aud = %q, want [%q]", aud, application.DemoResource)
	}
	// Without a resource the seed's aud stays the client id.
	if aud, err := jwtClient.TokenAudience(nil); err != nil || !slices.Equal(aud, []string{jwtClientID}) {
		t.Errorf("aud without resource = %q, %v; want [%q]", aud, err, jwtClientID)
	}

	opaqueClient, err := clients.FindClient(t.Context(), opaqueClientID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opaqueClient.TokenAudience([]string{application.DemoResource}); !errors.Is(err, domain.ErrInvalidTarget) {
		t.Errorf("%s asking for %s: error %v, want invalid_target", opaqueClientID, application.DemoResource, err)
	}
}
