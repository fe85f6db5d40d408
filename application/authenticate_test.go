package application_test

import (
	"errors"
	"testing"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

func TestAuthenticateClientAccepts(t *testing.T) {
	e := newEnv(t)
	for _, m := range []domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthClientSecretPost} {
		t.Run(string(m), func(t *testing.T) {
			c, err := e.auth.Handle(t.Context(), application.ClientCredentials{ID: jwtClientID, Secret: jwtSecret, Method: m})
			if err != nil {
				t.Fatalf("authenticate %s with %s: %v", jwtClientID, m, err)
			}
			if c.ID != jwtClientID || c.TokenFormat != domain.FormatJWT {
				t.Errorf("authenticated client = %+v, want %s", c, jwtClientID)
			}
		})
	}
}

func TestAuthenticateClientRejects(t *testing.T) {
	e := newEnv(t)
	basicOnly := domain.Client{
		ID: "basic-only", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretBasic},
		GrantTypes: []domain.GrantType{domain.GrantClientCredentials}, TokenFormat: domain.FormatOpaque,
	}
	e.addClient(t, basicOnly, "basic-secret")

	tests := []struct {
		name string
		in   application.ClientCredentials
	}{
		{"wrong secret", post(jwtClientID, "not-the-secret")},
		{"another client's secret", post(jwtClientID, opaqueSecret)},
		{"unknown client", post("no-such-client", jwtSecret)},
		{"empty id", post("", jwtSecret)},
		{"empty secret", post(jwtClientID, "")},
		{"id differs in case", post("Service-Client-JWT", jwtSecret)},
		{"method the client may not use", post("basic-only", "basic-secret")},
		{"no method", application.ClientCredentials{ID: jwtClientID, Secret: jwtSecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.auth.Handle(t.Context(), tt.in)
			wantOAuthError(t, err, domain.ErrInvalidClient)
			if c.ID != "" {
				t.Errorf("rejected authentication still returned client %q", c.ID)
			}
		})
	}
}

// An attacker must not learn from the answer whether a client id exists
// (RFC 6749 §10.1 is about secrets; the same care applies to ids).
func TestAuthenticateClientHidesWhetherClientExists(t *testing.T) {
	e := newEnv(t)
	_, unknown := e.auth.Handle(t.Context(), post("no-such-client", "guess"))
	_, wrong := e.auth.Handle(t.Context(), post(jwtClientID, "guess"))

	u := wantOAuthError(t, unknown, domain.ErrInvalidClient)
	w := wantOAuthError(t, wrong, domain.ErrInvalidClient)
	if u.Description != w.Description || unknown.Error() != wrong.Error() {
		t.Errorf("unknown client answers %q, wrong secret answers %q: they must not differ", unknown, wrong)
	}
}

// An unknown client still costs one secret verification, so the response
// time does not tell it from a known client with a wrong secret.
func TestAuthenticateClientVerifiesSecretForUnknownClient(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		id   string
	}{
		{"unknown client", "no-such-client"},
		{"known client, wrong secret", jwtClientID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.hasher.verifies.Load()
			_, err := e.auth.Handle(t.Context(), post(tt.id, "guess"))
			wantOAuthError(t, err, domain.ErrInvalidClient)
			if n := e.hasher.verifies.Load() - before; n != 1 {
				t.Errorf("VerifySecret called %d times, want 1", n)
			}
		})
	}
}

func TestAuthenticateClientStoreFailure(t *testing.T) {
	auth := newAuth(t, brokenClients{}, &countingHasher{})
	_, err := auth.Handle(t.Context(), post(jwtClientID, jwtSecret))
	wantInfraError(t, err, errStore)
}

func TestAuthenticateClientCorruptHash(t *testing.T) {
	e := newEnv(t)
	c := domain.Client{ID: "corrupt", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretPost}}
	if err := e.clients.SaveClient(t.Context(), c); err != nil { // no SecretHash: unreadable
		t.Fatal(err)
	}
	_, err := e.auth.Handle(t.Context(), post("corrupt", "anything"))
	if err == nil {
		t.Fatal("a client whose stored hash cannot be read authenticated")
	}
	var oerr *domain.Error
	if errors.As(err, &oerr) {
		t.Errorf("unreadable stored hash answered %v, want an internal error", err)
	}
}
