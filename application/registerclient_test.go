package application_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// jwtSecret32 is long enough for client_secret_jwt (HS256 needs 32 bytes).
const jwtSecret32 = "0123456789abcdef0123456789abcdef"

// registration is a coherent client_secret_post client with one secret.
func registration() application.RegisterClientInput {
	return application.RegisterClientInput{
		Client: domain.Client{
			ID: "billing", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretPost}, GrantTypes: cc,
			AllowedScopes: domain.NewScopes("country.read"), DefaultScopes: domain.NewScopes("country.read"),
			TokenFormat: domain.FormatOpaque,
		},
		Secrets: []application.SecretSpec{{ID: "2026-10", Secret: "billing-secret"}},
	}
}

func registerEnv(t *testing.T) (*application.RegisterClient, *fakes.Clients, *countingHasher) {
	t.Helper()
	clients := fakes.NewClients()
	hasher := &countingHasher{}
	return application.NewRegisterClient(clients, hasher, fakes.Box{}), clients, hasher
}

func TestRegisterClientStoresSecretsHashed(t *testing.T) {
	register, clients, _ := registerEnv(t)
	exp := t0.Add(30 * 24 * time.Hour)
	in := registration()
	in.Secrets = []application.SecretSpec{
		{ID: "2026-09", Secret: "older-secret", ExpiresAt: exp},
		{ID: "2026-10", Secret: "newer-secret"},
	}
	if err := register.Handle(t.Context(), in); err != nil {
		t.Fatalf("register: %v", err)
	}
	got, err := clients.FindClient(t.Context(), "billing")
	if err != nil {
		t.Fatalf("registered client not stored: %v", err)
	}
	want := []domain.ClientSecret{
		{ID: "2026-09", Hash: "plain$older-secret", ExpiresAt: exp},
		{ID: "2026-10", Hash: "plain$newer-secret"},
	}
	if len(got.Secrets) != len(want) {
		t.Fatalf("stored secrets %+v, want %+v", got.Secrets, want)
	}
	for i, w := range want {
		g := got.Secrets[i]
		if g.ID != w.ID || g.Hash != w.Hash || !g.ExpiresAt.Equal(w.ExpiresAt) {
			t.Errorf("secret %d stored as %+v, want %+v", i, g, w)
		}
		// Only client_secret_jwt needs the secret itself back.
		if len(g.Sealed) != 0 {
			t.Errorf("secret %q of a client without client_secret_jwt kept sealed as %q", g.ID, g.Sealed)
		}
	}
}

func TestRegisterClientSealsClientSecretJWTSecrets(t *testing.T) {
	register, clients, _ := registerEnv(t)
	in := registration()
	in.Client.AuthMethods = []domain.AuthMethod{domain.AuthClientSecretJWT, domain.AuthClientSecretBasic}
	in.Secrets = []application.SecretSpec{{ID: "hs", Secret: jwtSecret32}}
	if err := register.Handle(t.Context(), in); err != nil {
		t.Fatalf("register: %v", err)
	}
	got, err := clients.FindClient(t.Context(), "billing")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Secrets) != 1 {
		t.Fatalf("stored secrets %+v, want one", got.Secrets)
	}
	s := got.Secrets[0]
	if s.Hash != "plain$"+jwtSecret32 {
		t.Errorf("hash = %q, want the fake hash of the secret", s.Hash)
	}
	if string(s.Sealed) != "sealed:"+jwtSecret32 {
		t.Errorf("sealed = %q, want the secret sealed by the box", s.Sealed)
	}
}

func TestRegisterClientNormalisesScopes(t *testing.T) {
	register, clients, _ := registerEnv(t)
	in := registration()
	in.Client.AllowedScopes = domain.Scopes{"customer.write", "country.read", "customer.write", "customer.read"}
	in.Client.DefaultScopes = domain.Scopes{"customer.read", "country.read", "country.read"}
	if err := register.Handle(t.Context(), in); err != nil {
		t.Fatalf("register with unsorted scopes: %v", err)
	}
	got, err := clients.FindClient(t.Context(), "billing")
	if err != nil {
		t.Fatal(err)
	}
	if want := "country.read customer.read customer.write"; got.AllowedScopes.String() != want {
		t.Errorf("allowed scopes stored as %q, want %q", got.AllowedScopes, want)
	}
	if want := "country.read customer.read"; got.DefaultScopes.String() != want {
		t.Errorf("default scopes stored as %q, want %q", got.DefaultScopes, want)
	}
}

func TestRegisterClientRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(in *application.RegisterClientInput)
	}{
		{"client_secret_jwt secret of 31 bytes", func(in *application.RegisterClientInput) {
			in.Client.AuthMethods = []domain.AuthMethod{domain.AuthClientSecretJWT}
			in.Secrets = []application.SecretSpec{{ID: "hs", Secret: jwtSecret32[:31]}}
		}},
		{"one short client_secret_jwt secret among long ones", func(in *application.RegisterClientInput) {
			in.Client.AuthMethods = []domain.AuthMethod{domain.AuthClientSecretJWT}
			in.Secrets = []application.SecretSpec{{ID: "a", Secret: jwtSecret32}, {ID: "b", Secret: "short"}}
		}},
		{"duplicate secret ids", func(in *application.RegisterClientInput) {
			in.Secrets = []application.SecretSpec{{ID: "s", Secret: "one-secret"}, {ID: "s", Secret: "another-secret"}}
		}},
		{"empty secret id", func(in *application.RegisterClientInput) {
			in.Secrets = []application.SecretSpec{{ID: "", Secret: "billing-secret"}}
		}},
		{"empty secret", func(in *application.RegisterClientInput) {
			in.Secrets = []application.SecretSpec{{ID: "s", Secret: ""}}
		}},
		// Client.Validate's rules, as the operator meets them.
		{"no secret for client_secret_post", func(in *application.RegisterClientInput) { in.Secrets = nil }},
		{"no id", func(in *application.RegisterClientInput) { in.Client.ID = "" }},
		{"unknown token format", func(in *application.RegisterClientInput) { in.Client.TokenFormat = "reference" }},
		{"default scope not allowed", func(in *application.RegisterClientInput) {
			in.Client.DefaultScopes = domain.NewScopes("customer.write")
		}},
		{"relative resource", func(in *application.RegisterClientInput) { in.Client.Resources = []string{"/ms-system"} }},
		{"private_key_jwt without keys", func(in *application.RegisterClientInput) {
			in.Client.AuthMethods = []domain.AuthMethod{domain.AuthPrivateKeyJWT}
			in.Secrets = nil
		}},
		{"unknown auth method", func(in *application.RegisterClientInput) {
			in.Client.AuthMethods = []domain.AuthMethod{"tls_client_auth"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			register, clients, _ := registerEnv(t)
			in := registration()
			tt.change(&in)
			err := register.Handle(t.Context(), in)
			oerr := wantOAuthError(t, err, domain.ErrInvalidClientMetadata)
			if oerr.Description == "" {
				t.Error("the operator is not told what is wrong")
			}
			if all, _ := clients.ListClients(t.Context()); len(all) != 0 {
				t.Errorf("refused registration still stored %+v", all)
			}
		})
	}
}

// A client_secret_jwt secret of exactly 32 bytes is long enough.
func TestRegisterClientJWTSecretOf32Bytes(t *testing.T) {
	register, _, _ := registerEnv(t)
	in := registration()
	in.Client.AuthMethods = []domain.AuthMethod{domain.AuthClientSecretJWT}
	in.Secrets = []application.SecretSpec{{ID: "hs", Secret: jwtSecret32}}
	if err := register.Handle(t.Context(), in); err != nil {
		t.Errorf("32-byte client_secret_jwt secret refused: %v", err)
	}
	// Short secrets are fine for the methods that send them.
	in = registration()
	in.Secrets = []application.SecretSpec{{ID: "s", Secret: "short"}}
	if err := register.Handle(t.Context(), in); err != nil {
		t.Errorf("short client_secret_post secret refused: %v", err)
	}
}

// What the operator registered is what authenticates afterwards, by every
// method the client allows, and nothing else does.
func TestRegisterClientThenAuthenticate(t *testing.T) {
	register, clients, hasher := registerEnv(t)
	in := registration()
	in.Client.AuthMethods = []domain.AuthMethod{domain.AuthClientSecretPost, domain.AuthClientSecretJWT}
	in.Secrets = []application.SecretSpec{{ID: "hs", Secret: jwtSecret32}}
	// Secrets in the client itself are ignored: only SecretSpecs count.
	in.Client.Secrets = []domain.ClientSecret{{ID: "smuggled", Hash: "plain$smuggled-secret"}}
	if err := register.Handle(t.Context(), in); err != nil {
		t.Fatalf("register: %v", err)
	}

	auth := newAuth(t, clients, hasher)
	if _, err := auth.Handle(t.Context(), post("billing", jwtSecret32)); err != nil {
		t.Errorf("registered secret does not authenticate with client_secret_post: %v", err)
	}
	assertion := fakes.Assertion{Claims: claimsFrom("billing", t0), Method: domain.AuthClientSecretJWT, Secret: jwtSecret32}
	if _, err := auth.Handle(t.Context(), sent(assertion)); err != nil {
		t.Errorf("registered secret does not sign a client_secret_jwt assertion: %v", err)
	}
	_, err := auth.Handle(t.Context(), post("billing", "smuggled-secret"))
	wantOAuthError(t, err, domain.ErrInvalidClient)
}

// Registering again replaces the client, its secrets included.
func TestRegisterClientReplaces(t *testing.T) {
	register, clients, hasher := registerEnv(t)
	if err := register.Handle(t.Context(), registration()); err != nil {
		t.Fatal(err)
	}
	in := registration()
	in.Client.TokenFormat = domain.FormatJWT
	in.Secrets = []application.SecretSpec{{ID: "2026-11", Secret: "rotated-secret"}}
	if err := register.Handle(t.Context(), in); err != nil {
		t.Fatalf("register again: %v", err)
	}
	auth := newAuth(t, clients, hasher)
	c, err := auth.Handle(t.Context(), post("billing", "rotated-secret"))
	if err != nil {
		t.Fatalf("new secret refused: %v", err)
	}
	if c.TokenFormat != domain.FormatJWT {
		t.Errorf("token format = %q after re-registration, want jwt", c.TokenFormat)
	}
	_, err = auth.Handle(t.Context(), post("billing", "billing-secret"))
	wantOAuthError(t, err, domain.ErrInvalidClient)
}

func TestRegisterClientStoreFailure(t *testing.T) {
	err := application.NewRegisterClient(fakes.BrokenClients{}, fakes.Hasher{}, fakes.Box{}).Handle(t.Context(), registration())
	wantInfraError(t, err, fakes.ErrDown)
}

// A client whose tokens would outlive the signing keys' retire period is
// refused, the default lifetime counting for one that sets none.
func TestRegisterClientRefusesALifetimeBeyondTheLimit(t *testing.T) {
	register, clients, _ := registerEnv(t)
	register.LimitLifetime(4 * time.Hour)
	for _, lifetime := range []time.Duration{4 * time.Hour, 30 * time.Minute} {
		in := registration()
		in.Client.TokenLifetime = lifetime
		if err := register.Handle(t.Context(), in); err != nil {
			t.Fatalf("lifetime %s within the limit: %v", lifetime, err)
		}
	}
	in := registration()
	in.Client.ID, in.Client.TokenLifetime = "long", 48*time.Hour
	err := register.Handle(t.Context(), in)
	if !errors.Is(err, domain.ErrInvalidClientMetadata) || !strings.Contains(err.Error(), "48h0m0s is longer than 4h0m0s") {
		t.Fatalf("48h under a 4h limit: %v, want invalid_client_metadata saying so", err)
	}
	if _, err := clients.FindClient(t.Context(), "long"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatal("the refused client was stored")
	}
	register.LimitLifetime(30 * time.Minute)
	in = registration()
	in.Client.ID = "default"
	if err := register.Handle(t.Context(), in); !errors.Is(err, domain.ErrInvalidClientMetadata) {
		t.Fatalf("the default lifetime (1h) under a 30m limit: %v", err)
	}
}
