package application_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// Clients authenticating with a JWT assertion (RFC 7523 §2.2).
const (
	pkClientID = "pk-client" // private_key_jwt
	csClientID = "cs-client" // client_secret_jwt
	clientKid  = "pk-client-2026"
	csSecret   = "cs-client-secret-of-at-least-32-bytes"
	// assertionLeeway is the clock skew the application allows on exp,
	// nbf and iat, and past exp in remembering a jti.
	assertionLeeway = 30 * time.Second
)

var cc = []domain.GrantType{domain.GrantClientCredentials}

// addAssertionClients registers pk-client, whose JWKS holds clientKid, and
// cs-client, whose one secret is csSecret.
func (e *env) addAssertionClients(t *testing.T) {
	t.Helper()
	e.saveClient(t, domain.Client{
		ID: pkClientID, AuthMethods: []domain.AuthMethod{domain.AuthPrivateKeyJWT}, GrantTypes: cc,
		AllowedScopes: countryRead, DefaultScopes: countryRead, TokenFormat: domain.FormatOpaque,
		JWKS: `{"keys":[{"kty":"EC","crv":"P-256","kid":"` + clientKid + `"}]}`,
	})
	e.saveClient(t, domain.Client{
		ID: csClientID, AuthMethods: []domain.AuthMethod{domain.AuthClientSecretJWT}, GrantTypes: cc,
		AllowedScopes: countryRead, DefaultScopes: countryRead, TokenFormat: domain.FormatOpaque,
		Secrets: []domain.ClientSecret{jwtSecretOf(t, "2026-10", csSecret, time.Time{})},
	})
}

var jtis atomic.Int64

// newJTI is a jti no other assertion of the test binary uses.
func newJTI() string { return fmt.Sprintf("jti-%d", jtis.Add(1)) }

// claimsFrom are valid assertion claims from client id at now: addressed
// to the token endpoint, five minutes long, with a fresh jti.
func claimsFrom(id string, now time.Time) domain.ClientAssertion {
	return domain.ClientAssertion{
		Issuer: id, Subject: id, Audience: []string{tokenEndpoint}, ID: newJTI(),
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(5 * time.Minute),
	}
}

// signed is the assertion "signed" as method shows: with clientKid for
// private_key_jwt, with csSecret for client_secret_jwt.
func signed(method domain.AuthMethod, claims domain.ClientAssertion) fakes.Assertion {
	a := fakes.Assertion{Claims: claims, Method: method}
	switch method {
	case domain.AuthPrivateKeyJWT:
		a.Kid = clientKid
	case domain.AuthClientSecretJWT:
		a.Secret = csSecret
	}
	return a
}

// sent is a as a client sends it: client_assertion and its type, no id.
func sent(a fakes.Assertion) application.ClientCredentials {
	return application.ClientCredentials{Assertion: a.Encode(), AssertionType: application.AssertionTypeJWTBearer}
}

// clientOf is the client a method's assertions come from here.
func clientOf(method domain.AuthMethod) string {
	if method == domain.AuthPrivateKeyJWT {
		return pkClientID
	}
	return csClientID
}

var assertionMethods = []domain.AuthMethod{domain.AuthPrivateKeyJWT, domain.AuthClientSecretJWT}

func TestAuthenticateAssertionAccepts(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *domain.ClientAssertion, now time.Time)
		// sendID sends client_id beside the assertion (RFC 6749 §2.3).
		sendID bool
	}{
		{"valid", nil, false},
		{"client_id sent too, equal to iss", nil, true},
		{"addressed to the issuer", func(c *domain.ClientAssertion, _ time.Time) { c.Audience = []string{issuer} }, false},
		{"addressed to us among others", func(c *domain.ClientAssertion, _ time.Time) {
			c.Audience = []string{"https://elsewhere.example.com/token", tokenEndpoint}
		}, false},
		{"expired within leeway", func(c *domain.ClientAssertion, now time.Time) {
			c.IssuedAt, c.NotBefore, c.ExpiresAt = now.Add(-time.Minute), now.Add(-time.Minute), now.Add(-assertionLeeway+time.Second)
		}, false},
		{"exp an hour ahead", func(c *domain.ClientAssertion, now time.Time) {
			c.ExpiresAt = now.Add(application.MaxAssertionLifetime)
		}, false},
		{"nbf in the future within leeway", func(c *domain.ClientAssertion, now time.Time) { c.NotBefore = now.Add(assertionLeeway - time.Second) }, false},
		{"iat in the future within leeway", func(c *domain.ClientAssertion, now time.Time) { c.IssuedAt = now.Add(assertionLeeway - time.Second) }, false},
		{"no nbf, no iat", func(c *domain.ClientAssertion, _ time.Time) { c.NotBefore, c.IssuedAt = time.Time{}, time.Time{} }, false},
	}
	for _, method := range assertionMethods {
		for _, tt := range tests {
			t.Run(string(method)+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t)
				e.addAssertionClients(t)
				id := clientOf(method)
				claims := claimsFrom(id, e.clock.Now())
				if tt.change != nil {
					tt.change(&claims, e.clock.Now())
				}
				creds := sent(signed(method, claims))
				if tt.sendID {
					creds.ID = id
				}
				c, err := e.auth.Handle(t.Context(), creds)
				if err != nil {
					t.Fatalf("valid %s assertion refused: %v", method, err)
				}
				if c.ID != id {
					t.Errorf("authenticated %q, want %q", c.ID, id)
				}
			})
		}
	}
}

func TestAuthenticateAssertionRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *domain.ClientAssertion, now time.Time)
		creds  func(c *application.ClientCredentials)
	}{
		{"other assertion type", nil, func(c *application.ClientCredentials) {
			c.AssertionType = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
		}},
		{"no assertion type", nil, func(c *application.ClientCredentials) { c.AssertionType = "" }},
		{"assertion type without assertion", nil, func(c *application.ClientCredentials) { c.Assertion = "" }},
		{"malformed assertion", nil, func(c *application.ClientCredentials) { c.Assertion = "eyJhbGciOiJIUzI1NiJ9.e30" }},
		{"client_id differs from iss", nil, func(c *application.ClientCredentials) { c.ID = jwtClientID }},
		{"unknown client", func(c *domain.ClientAssertion, _ time.Time) { c.Issuer, c.Subject = "no-such-client", "no-such-client" }, nil},
		{"sub differs from iss", func(c *domain.ClientAssertion, _ time.Time) { c.Subject = jwtClientID }, nil},
		{"no sub", func(c *domain.ClientAssertion, _ time.Time) { c.Subject = "" }, nil},
		{"addressed elsewhere", func(c *domain.ClientAssertion, _ time.Time) {
			c.Audience = []string{"https://elsewhere.example.com/token"}
		}, nil},
		{"no aud", func(c *domain.ClientAssertion, _ time.Time) { c.Audience = nil }, nil},
		{"expired beyond leeway", func(c *domain.ClientAssertion, now time.Time) {
			c.IssuedAt, c.NotBefore, c.ExpiresAt = now.Add(-time.Minute), now.Add(-time.Minute), now.Add(-assertionLeeway-time.Second)
		}, nil},
		{"no exp", func(c *domain.ClientAssertion, _ time.Time) { c.ExpiresAt = time.Time{} }, nil},
		{"exp more than an hour ahead", func(c *domain.ClientAssertion, now time.Time) {
			c.ExpiresAt = now.Add(application.MaxAssertionLifetime + time.Minute)
		}, nil},
		{"nbf in the future", func(c *domain.ClientAssertion, now time.Time) { c.NotBefore = now.Add(time.Minute) }, nil},
		{"iat in the future", func(c *domain.ClientAssertion, now time.Time) { c.IssuedAt = now.Add(time.Minute) }, nil},
		{"no jti", func(c *domain.ClientAssertion, _ time.Time) { c.ID = "" }, nil},
	}
	for _, method := range assertionMethods {
		for _, tt := range tests {
			t.Run(string(method)+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t)
				e.addAssertionClients(t)
				claims := claimsFrom(clientOf(method), e.clock.Now())
				if tt.change != nil {
					tt.change(&claims, e.clock.Now())
				}
				creds := sent(signed(method, claims))
				if tt.creds != nil {
					tt.creds(&creds)
				}
				c, err := e.auth.Handle(t.Context(), creds)
				wantOAuthError(t, err, domain.ErrInvalidClient)
				if c.ID != "" {
					t.Errorf("refused assertion still authenticated %q", c.ID)
				}
			})
		}
	}
}

func TestAuthenticateAssertionBadSignature(t *testing.T) {
	e := newEnv(t)
	e.addAssertionClients(t)
	tests := []struct {
		name string
		a    fakes.Assertion
	}{
		{"private_key_jwt with a kid not in the client's keys", fakes.Assertion{
			Claims: claimsFrom(pkClientID, t0), Method: domain.AuthPrivateKeyJWT, Kid: "someone-elses-key",
		}},
		{"client_secret_jwt with another secret", fakes.Assertion{
			Claims: claimsFrom(csClientID, t0), Method: domain.AuthClientSecretJWT, Secret: "not-the-secret-but-as-long-as-it",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.auth.Handle(t.Context(), sent(tt.a))
			wantOAuthError(t, err, domain.ErrInvalidClient)
		})
	}
}

// The signature shows the method; a client may use only the methods it
// registered (RFC 7591 §2, token_endpoint_auth_method).
func TestAuthenticateAssertionMethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	e.addAssertionClients(t)
	// Has keys and a sealed secret, yet may only send its secret.
	e.saveClient(t, domain.Client{
		ID: "basic-only", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretBasic}, GrantTypes: cc,
		TokenFormat: domain.FormatOpaque, JWKS: `{"keys":[{"kid":"` + clientKid + `"}]}`,
		Secrets: []domain.ClientSecret{jwtSecretOf(t, "s", csSecret, time.Time{})},
	})
	tests := []struct {
		name   string
		client string
		method domain.AuthMethod
	}{
		{"private_key_jwt from a basic-only client", "basic-only", domain.AuthPrivateKeyJWT},
		{"client_secret_jwt from a basic-only client", "basic-only", domain.AuthClientSecretJWT},
		{"client_secret_jwt from a private_key_jwt client", pkClientID, domain.AuthClientSecretJWT},
		{"private_key_jwt from a client_secret_jwt client", csClientID, domain.AuthPrivateKeyJWT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.auth.Handle(t.Context(), sent(signed(tt.method, claimsFrom(tt.client, e.clock.Now()))))
			wantOAuthError(t, err, domain.ErrInvalidClient)
			if c.ID != "" {
				t.Errorf("refused assertion still authenticated %q", c.ID)
			}
		})
	}
	// The basic-only client's secret itself still works.
	if _, err := e.auth.Handle(t.Context(), application.ClientCredentials{ID: "basic-only", Secret: csSecret, Method: domain.AuthClientSecretBasic}); err != nil {
		t.Errorf("basic-only client refused its own method: %v", err)
	}
}

// RFC 7523 §3 item 7: a jti is used once, and remembered until the
// assertion could no longer be accepted anyway.
func TestAuthenticateAssertionReplay(t *testing.T) {
	for _, method := range assertionMethods {
		t.Run(string(method), func(t *testing.T) {
			e := newEnv(t)
			e.addAssertionClients(t)
			id := clientOf(method)
			first := claimsFrom(id, e.clock.Now())
			creds := sent(signed(method, first))

			if _, err := e.auth.Handle(t.Context(), creds); err != nil {
				t.Fatalf("first use refused: %v", err)
			}
			_, err := e.auth.Handle(t.Context(), creds)
			wantOAuthError(t, err, domain.ErrInvalidClient)

			// A fresh assertion reusing the jti, while the first one's
			// could still be accepted.
			reuse := func() error {
				claims := claimsFrom(id, e.clock.Now())
				claims.ID = first.ID
				_, err := e.auth.Handle(t.Context(), sent(signed(method, claims)))
				return err
			}
			e.clock.Advance(first.ExpiresAt.Add(assertionLeeway).Sub(e.clock.Now()) - time.Second)
			wantOAuthError(t, reuse(), domain.ErrInvalidClient)

			e.clock.Advance(time.Second)
			if err := reuse(); err != nil {
				t.Errorf("jti refused after the first assertion's exp plus leeway: %v", err)
			}
		})
	}
}

// The replay guard is per client: another client may pick the same jti.
func TestAuthenticateAssertionSameJTIOtherClient(t *testing.T) {
	e := newEnv(t)
	e.addAssertionClients(t)
	pk := claimsFrom(pkClientID, e.clock.Now())
	cs := claimsFrom(csClientID, e.clock.Now())
	cs.ID = pk.ID
	if _, err := e.auth.Handle(t.Context(), sent(signed(domain.AuthPrivateKeyJWT, pk))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth.Handle(t.Context(), sent(signed(domain.AuthClientSecretJWT, cs))); err != nil {
		t.Errorf("%s's jti refused because %s used it: %v", csClientID, pkClientID, err)
	}
}

// A refused assertion does not use up its jti, or anyone who sees an
// assertion could spoil its jti by replaying it altered.
func TestAuthenticateAssertionRefusedKeepsJTI(t *testing.T) {
	e := newEnv(t)
	e.addAssertionClients(t)
	good := claimsFrom(pkClientID, e.clock.Now())
	bad := good
	bad.Audience = []string{"https://elsewhere.example.com/token"}
	_, err := e.auth.Handle(t.Context(), sent(signed(domain.AuthPrivateKeyJWT, bad)))
	wantOAuthError(t, err, domain.ErrInvalidClient)
	if _, err := e.auth.Handle(t.Context(), sent(signed(domain.AuthPrivateKeyJWT, good))); err != nil {
		t.Errorf("valid assertion refused after one with its jti was refused: %v", err)
	}
}

// recordingVerifier is fakes.AssertionVerifier remembering the secrets it
// was offered.
type recordingVerifier struct {
	fakes.AssertionVerifier
	mu      sync.Mutex
	offered [][]byte
}

func (v *recordingVerifier) VerifyClientAssertion(ctx context.Context, c domain.Client, secrets [][]byte, s string) (domain.ClientAssertion, domain.AuthMethod, error) {
	v.mu.Lock()
	v.offered = slices.Clone(secrets)
	v.mu.Unlock()
	return v.AssertionVerifier.VerifyClientAssertion(ctx, c, secrets, s)
}

func (v *recordingVerifier) lastOffered() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for _, s := range v.offered {
		out = append(out, string(s))
	}
	return out
}

func TestAuthenticateAssertionExpiredSecretNotOffered(t *testing.T) {
	e := newEnv(t)
	const older, newer = "older-client-secret-jwt-secret-32b", "newer-client-secret-jwt-secret-32b"
	e.saveClient(t, domain.Client{
		ID: csClientID, AuthMethods: []domain.AuthMethod{domain.AuthClientSecretJWT}, GrantTypes: cc,
		TokenFormat: domain.FormatOpaque,
		Secrets: []domain.ClientSecret{
			jwtSecretOf(t, "2026-09", older, t0.Add(time.Hour)),
			jwtSecretOf(t, "2026-10", newer, time.Time{}),
		},
	})
	v := &recordingVerifier{}
	auth := newAuthWith(t, e.clients, e.hasher, e.clock, e.assertionSupport(v))
	withSecret := func(secret string) application.ClientCredentials {
		return sent(fakes.Assertion{Claims: claimsFrom(csClientID, e.clock.Now()), Method: domain.AuthClientSecretJWT, Secret: secret})
	}

	if _, err := auth.Handle(t.Context(), withSecret(older)); err != nil {
		t.Fatalf("older secret refused while valid: %v", err)
	}
	if got, want := v.lastOffered(), []string{older, newer}; !slices.Equal(got, want) {
		t.Errorf("verifier offered %q, want %q opened", got, want)
	}

	e.clock.Advance(time.Hour)
	_, err := auth.Handle(t.Context(), withSecret(older))
	wantOAuthError(t, err, domain.ErrInvalidClient)
	if got, want := v.lastOffered(), []string{newer}; !slices.Equal(got, want) {
		t.Errorf("after the older secret expired the verifier was offered %q, want %q", got, want)
	}
	if _, err := auth.Handle(t.Context(), withSecret(newer)); err != nil {
		t.Errorf("newer secret refused: %v", err)
	}
}

// The shared secrets are opened only for a client allowed
// client_secret_jwt: others never need them read back.
func TestAuthenticateAssertionSecretsOnlyForClientSecretJWT(t *testing.T) {
	e := newEnv(t)
	e.saveClient(t, domain.Client{
		ID: "basic-and-keys", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthPrivateKeyJWT},
		GrantTypes: cc, TokenFormat: domain.FormatOpaque, JWKS: `{"keys":[{"kid":"` + clientKid + `"}]}`,
		Secrets: []domain.ClientSecret{jwtSecretOf(t, "s", csSecret, time.Time{})},
	})
	v := &recordingVerifier{}
	auth := newAuthWith(t, e.clients, e.hasher, e.clock, e.assertionSupport(v))
	if _, err := auth.Handle(t.Context(), sent(signed(domain.AuthPrivateKeyJWT, claimsFrom("basic-and-keys", e.clock.Now())))); err != nil {
		t.Fatalf("private_key_jwt refused: %v", err)
	}
	if got := v.lastOffered(); len(got) != 0 {
		t.Errorf("verifier offered %q for a client without client_secret_jwt, want none", got)
	}
}

// Without assertion support every assertion is refused, and secrets still
// work.
func TestAuthenticateAssertionsTurnedOff(t *testing.T) {
	e := newEnv(t)
	e.addAssertionClients(t)
	auth := newAuthWith(t, e.clients, e.hasher, e.clock, application.AssertionSupport{})
	_, err := auth.Handle(t.Context(), sent(signed(domain.AuthPrivateKeyJWT, claimsFrom(pkClientID, e.clock.Now()))))
	wantOAuthError(t, err, domain.ErrInvalidClient)
	if _, err := auth.Handle(t.Context(), post(jwtClientID, jwtSecret)); err != nil {
		t.Errorf("secret refused with assertions turned off: %v", err)
	}
}

// As for secrets, the answer must not tell an unknown client from a known
// one whose assertion does not verify: before the signature is checked the
// caller has proved nothing.
func TestAuthenticateAssertionHidesWhetherClientExists(t *testing.T) {
	e := newEnv(t)
	e.addAssertionClients(t)
	unknownClaims := claimsFrom("no-such-client", e.clock.Now())
	_, unknown := e.auth.Handle(t.Context(), sent(fakes.Assertion{Claims: unknownClaims, Method: domain.AuthPrivateKeyJWT, Kid: "guess"}))
	_, badSig := e.auth.Handle(t.Context(), sent(fakes.Assertion{Claims: claimsFrom(pkClientID, e.clock.Now()), Method: domain.AuthPrivateKeyJWT, Kid: "guess"}))

	u := wantOAuthError(t, unknown, domain.ErrInvalidClient)
	b := wantOAuthError(t, badSig, domain.ErrInvalidClient)
	if u.Description != b.Description {
		t.Errorf("unknown client answers %q, bad signature answers %q: they must not differ", u.Description, b.Description)
	}
}

func TestAuthenticateAssertionInfrastructureFailure(t *testing.T) {
	e := newEnv(t)
	e.addAssertionClients(t)
	t.Run("replay guard down", func(t *testing.T) {
		a := e.assertionSupport(fakes.AssertionVerifier{})
		a.Replays = fakes.BrokenExpiring{}
		auth := newAuthWith(t, e.clients, e.hasher, e.clock, a)
		c, err := auth.Handle(t.Context(), sent(signed(domain.AuthPrivateKeyJWT, claimsFrom(pkClientID, e.clock.Now()))))
		wantInfraError(t, err, fakes.ErrDown)
		if c.ID != "" {
			t.Errorf("assertion accepted though its jti could not be recorded")
		}
	})
	t.Run("client store down", func(t *testing.T) {
		auth := newAuthWith(t, fakes.BrokenClients{}, e.hasher, e.clock, e.assertionSupport(fakes.AssertionVerifier{}))
		_, err := auth.Handle(t.Context(), sent(signed(domain.AuthPrivateKeyJWT, claimsFrom(pkClientID, e.clock.Now()))))
		wantInfraError(t, err, fakes.ErrDown)
	})
	t.Run("sealed secret unreadable", func(t *testing.T) {
		e.saveClient(t, domain.Client{
			ID: "unreadable", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretJWT}, GrantTypes: cc,
			TokenFormat: domain.FormatOpaque,
			Secrets:     []domain.ClientSecret{{ID: "s", Hash: "plain$" + csSecret, Sealed: []byte("sealed under another key")}},
		})
		_, err := e.auth.Handle(t.Context(), sent(signed(domain.AuthClientSecretJWT, claimsFrom("unreadable", e.clock.Now()))))
		if err == nil {
			t.Fatal("authenticated with a secret that cannot be opened")
		}
		var oerr *domain.Error
		if errors.As(err, &oerr) {
			t.Errorf("unreadable sealed secret answered %v, want an internal error", err)
		}
	})
}

// A private_key_jwt client gets a token from its assertion alone.
func TestIssueTokenWithClientAssertion(t *testing.T) {
	e := newEnv(t)
	e.addAssertionClients(t)
	got, err := e.issue.Handle(t.Context(), application.IssueTokenInput{
		Credentials: sent(signed(domain.AuthPrivateKeyJWT, claimsFrom(pkClientID, e.clock.Now()))),
		GrantType:   "client_credentials",
	})
	if err != nil {
		t.Fatalf("token request with a client assertion: %v", err)
	}
	tok, err := e.tokens.FindToken(t.Context(), got.AccessToken)
	if err != nil {
		t.Fatalf("issued token not stored: %v", err)
	}
	if tok.ClientID != pkClientID || tok.Scopes.String() != "country.read" {
		t.Errorf("token is client %q scope %q, want %q country.read", tok.ClientID, tok.Scopes, pkClientID)
	}
}
