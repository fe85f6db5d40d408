package application_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
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
	expired := domain.Client{
		ID: "expired", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretPost},
		GrantTypes: []domain.GrantType{domain.GrantClientCredentials}, TokenFormat: domain.FormatOpaque,
		Secrets: []domain.ClientSecret{secretOf(t, "old", "expired-secret", t0.Add(-time.Hour))},
	}
	e.saveClient(t, expired)

	// reason is what the log says; the answer is the same for all but the
	// method, which the client may be told.
	tests := []struct {
		name   string
		in     application.ClientCredentials
		reason string
	}{
		{"wrong secret", post(jwtClientID, "not-the-secret"), "wrong secret"},
		{"another client's secret", post(jwtClientID, opaqueSecret), "wrong secret"},
		{"unknown client", post("no-such-client", jwtSecret), "unknown client"},
		{"empty id", post("", jwtSecret), "no client id or secret"},
		{"empty secret", post(jwtClientID, ""), "no client id or secret"},
		{"id differs in case", post("Service-Client-JWT", jwtSecret), "unknown client"},
		{"expired secret", post("expired", "expired-secret"), "expired secret"},
		{"method the client may not use", post("basic-only", "basic-secret"), "client may not authenticate with client_secret_post"},
		{"no method", application.ClientCredentials{ID: jwtClientID, Secret: jwtSecret}, "client may not authenticate with "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.auth.Handle(t.Context(), tt.in)
			oerr := wantOAuthError(t, err, domain.ErrInvalidClient)
			if c.ID != "" {
				t.Errorf("rejected authentication still returned client %q", c.ID)
			}
			if got := oerr.LogReason(); got != tt.reason {
				t.Errorf("reason %q, want %q", got, tt.reason)
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
	auth := newAuth(t, fakes.BrokenClients{}, &countingHasher{})
	_, err := auth.Handle(t.Context(), post(jwtClientID, jwtSecret))
	wantInfraError(t, err, fakes.ErrDown)
}

func TestAuthenticateClientCorruptHash(t *testing.T) {
	e := newEnv(t)
	e.saveClient(t, domain.Client{
		ID: "corrupt", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretPost},
		Secrets: []domain.ClientSecret{{ID: "s", Hash: "$unreadable"}},
	})
	_, err := e.auth.Handle(t.Context(), post("corrupt", "anything"))
	if err == nil {
		t.Fatal("a client whose stored hash cannot be read authenticated")
	}
	var oerr *domain.Error
	if errors.As(err, &oerr) {
		t.Errorf("unreadable stored hash answered %v, want an internal error", err)
	}
}

// rotatingClient has an older secret expiring an hour after t0 and a newer
// one expiring in thirty days, as during a secret rotation.
func rotatingClient(t *testing.T) domain.Client {
	t.Helper()
	return domain.Client{
		ID:          "rotating",
		AuthMethods: []domain.AuthMethod{domain.AuthClientSecretPost},
		GrantTypes:  []domain.GrantType{domain.GrantClientCredentials},
		TokenFormat: domain.FormatOpaque,
		Secrets: []domain.ClientSecret{
			secretOf(t, "2026-09", "older-secret", t0.Add(time.Hour)),
			secretOf(t, "2026-10", "newer-secret", t0.Add(30*24*time.Hour)),
		},
	}
}

// A client holding two secrets at once may use either: callers move to
// the new one while the old one still works.
func TestAuthenticateClientSeveralSecrets(t *testing.T) {
	e := newEnv(t)
	e.saveClient(t, rotatingClient(t))
	for _, secret := range []string{"older-secret", "newer-secret"} {
		c, err := e.auth.Handle(t.Context(), post("rotating", secret))
		if err != nil {
			t.Errorf("secret %q refused while valid: %v", secret, err)
		} else if c.ID != "rotating" {
			t.Errorf("secret %q authenticated %q", secret, c.ID)
		}
	}
}

func TestAuthenticateClientExpiredSecret(t *testing.T) {
	e := newEnv(t)
	e.saveClient(t, rotatingClient(t))

	e.clock.Advance(time.Hour - time.Second)
	if _, err := e.auth.Handle(t.Context(), post("rotating", "older-secret")); err != nil {
		t.Fatalf("older secret refused a second before it expires: %v", err)
	}
	e.clock.Advance(time.Second)
	_, err := e.auth.Handle(t.Context(), post("rotating", "older-secret"))
	wantOAuthError(t, err, domain.ErrInvalidClient)
	if _, err := e.auth.Handle(t.Context(), post("rotating", "newer-secret")); err != nil {
		t.Errorf("newer secret refused once the older one expired: %v", err)
	}
}

// A client whose every secret expired is refused like a wrong secret, and
// at the same cost, so the answer does not tell which.
func TestAuthenticateClientAllSecretsExpired(t *testing.T) {
	e := newEnv(t)
	e.saveClient(t, rotatingClient(t))
	e.clock.Advance(31 * 24 * time.Hour)

	before := e.hasher.verifies.Load()
	c, err := e.auth.Handle(t.Context(), post("rotating", "newer-secret"))
	expired := wantOAuthError(t, err, domain.ErrInvalidClient)
	if c.ID != "" {
		t.Errorf("refused authentication still returned client %q", c.ID)
	}
	if n := e.hasher.verifies.Load() - before; n != 1 {
		t.Errorf("VerifySecret called %d times, want 1", n)
	}
	_, err = e.auth.Handle(t.Context(), post(jwtClientID, "wrong"))
	if wrong := wantOAuthError(t, err, domain.ErrInvalidClient); wrong.Description != expired.Description {
		t.Errorf("expired secrets answer %q, wrong secret %q: they must not differ", expired.Description, wrong.Description)
	}
}

// A wrong secret is compared with every valid secret, and only those.
func TestAuthenticateClientWrongSecretTriesEveryValidSecret(t *testing.T) {
	e := newEnv(t)
	c := rotatingClient(t)
	c.Secrets = append(c.Secrets,
		secretOf(t, "forever", "third-secret", time.Time{}),
		secretOf(t, "2026-08", "expired-secret", t0),
	)
	e.saveClient(t, c)

	before := e.hasher.verifies.Load()
	_, err := e.auth.Handle(t.Context(), post("rotating", "expired-secret"))
	wantOAuthError(t, err, domain.ErrInvalidClient)
	if n := e.hasher.verifies.Load() - before; n != 3 {
		t.Errorf("VerifySecret called %d times, want 3 (each valid secret)", n)
	}
	// The last valid secret is reached, not only the first.
	if _, err := e.auth.Handle(t.Context(), post("rotating", "third-secret")); err != nil {
		t.Errorf("third secret refused: %v", err)
	}
}
