package application_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// bearer is a resource server next to the env's authorization server:
// JWTs verified against the ring, opaque tokens introspected from the store.
func (e *env) bearer() *application.AuthorizeBearer {
	return e.bearerFor("")
}

// bearerFor is bearer for a resource server whose identifier is audience.
func (e *env) bearerFor(audience string) *application.AuthorizeBearer {
	return application.NewAuthorizeBearer(e.verifier, fakes.Introspector{Store: e.tokens}, e.revoked, audience)
}

var countryRead = domain.NewScopes("country.read")

func TestAuthorizeBearerValid(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, client, secret, scope string
		required                    domain.Scopes
	}{
		// The seeds' calls to GET /ms-system/country/code/AUS.
		{"jwt", jwtClientID, jwtSecret, seedJWTScope, countryRead},
		{"opaque", opaqueClientID, opaqueSecret, seedOpaqueScope, countryRead},
		{"jwt, several scopes required", jwtClientID, jwtSecret, seedJWTScope, domain.NewScopes("customer.read", "customer.write")},
		{"opaque, nothing required", opaqueClientID, opaqueSecret, seedOpaqueScope, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := e.issueToken(t, tt.client, tt.secret, tt.scope).AccessToken
			tok, err := e.bearer().Handle(t.Context(), application.AuthorizeBearerInput{Token: raw, Required: tt.required})
			if err != nil {
				t.Fatalf("valid token refused: %v", err)
			}
			if tok.ClientID != tt.client || tok.Scopes.String() != tt.scope {
				t.Errorf("authorised token is client %q scope %q, want %q %q", tok.ClientID, tok.Scopes, tt.client, tt.scope)
			}
		})
	}
}

func TestAuthorizeBearerInsufficientScope(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, client, secret, scope string
		required                    domain.Scopes
	}{
		// The seeds' resource requires country.read.
		{"jwt without country.read", jwtClientID, jwtSecret, "customer.read customer.write", countryRead},
		{"opaque without country.read", opaqueClientID, opaqueSecret, "", domain.NewScopes("customer.read")},
		{"jwt with one of two", jwtClientID, jwtSecret, "country.read", domain.NewScopes("country.read", "customer.write")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := e.issueToken(t, tt.client, tt.secret, tt.scope).AccessToken
			tok, err := e.bearer().Handle(t.Context(), application.AuthorizeBearerInput{Token: raw, Required: tt.required})
			oerr := wantOAuthError(t, err, domain.ErrInsufficientScope)
			// RFC 6750 §3: the challenge names the scope needed.
			if oerr.Scope != tt.required.String() {
				t.Errorf("insufficient_scope names scope %q, want %q", oerr.Scope, tt.required)
			}
			if errors.Is(err, domain.ErrInvalidToken) {
				t.Errorf("a valid token lacking scope reported as invalid_token")
			}
			if tok.ClientID != "" {
				t.Errorf("refused token still returned %+v", tok)
			}
		})
	}
}

func TestAuthorizeBearerInvalidToken(t *testing.T) {
	tests := []struct {
		name  string
		token func(t *testing.T, e *env) string
	}{
		{"malformed jwt", func(*testing.T, *env) string { return "eyJhbGciOiJSUzI1NiJ9.e30.c2ln" }},
		{"jwt signed with a kid not in the ring", func(t *testing.T, e *env) string {
			raw, err := fakes.Signer{}.SignAccessToken(t.Context(), domain.SigningKey{ID: "kid-elsewhere"}, domain.Token{
				ClientID: jwtClientID, Scopes: countryRead, NotBefore: t0, ExpiresAt: t0.Add(time.Hour),
			})
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}},
		{"expired jwt", func(t *testing.T, e *env) string {
			raw := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken
			e.clock.Advance(5 * time.Hour)
			return raw
		}},
		{"unknown opaque token", func(*testing.T, *env) string { return "fm8DH_ofCQnIhhbnoaMEN9SNZFYgAscQwmNpOLrsFLo" }},
		{"expired opaque token", func(t *testing.T, e *env) string {
			raw := e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken
			e.clock.Advance(5 * time.Hour)
			return raw
		}},
		{"empty token", func(*testing.T, *env) string { return "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tok, err := e.bearer().Handle(t.Context(), application.AuthorizeBearerInput{Token: tt.token(t, e), Required: countryRead})
			wantOAuthError(t, err, domain.ErrInvalidToken)
			if tok.ClientID != "" {
				t.Errorf("refused token still returned %+v", tok)
			}
		})
	}
}

// An authorization server that cannot be reached is a 503, not a reason
// to tell the client its token is invalid.
func TestAuthorizeBearerIntrospectorUnavailable(t *testing.T) {
	e := newEnv(t)
	raw := e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken
	down := fakes.Introspector{Err: fmt.Errorf("introspect at %s: %w", issuer, domain.ErrTemporarilyUnavailable)}
	bearer := application.NewAuthorizeBearer(e.verifier, down, e.revoked, "")

	_, err := bearer.Handle(t.Context(), application.AuthorizeBearerInput{Token: raw, Required: countryRead})
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Fatalf("error = %v, want one matching ErrTemporarilyUnavailable", err)
	}
	if errors.Is(err, domain.ErrInvalidToken) {
		t.Errorf("unreachable authorization server reported as invalid_token: %v", err)
	}
	var oerr *domain.Error
	if errors.As(err, &oerr) {
		t.Errorf("unreachable authorization server reported as OAuth error %s", oerr.Code)
	}
}

// A resource server that knows its own identifier accepts only tokens
// meant for it (RFC 9068 §4, RFC 8707 §2).
func TestAuthorizeBearerAudience(t *testing.T) {
	e := newEnv(t)
	// An opaque client that may ask for the demo resource too.
	e.addClient(t, domain.Client{
		ID: "opaque-for-demo", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretPost}, GrantTypes: cc,
		AllowedScopes: countryRead, DefaultScopes: countryRead, TokenFormat: domain.FormatOpaque,
		Resources: []string{application.DemoResource, "https://reports.example.com"},
	}, "opaque-for-demo-secret")
	issue := func(t *testing.T, client, secret string, resources ...string) string {
		t.Helper()
		got, err := e.issue.Handle(t.Context(), application.IssueTokenInput{
			Credentials: post(client, secret), GrantType: "client_credentials", Resources: resources,
		})
		if err != nil {
			t.Fatal(err)
		}
		return got.AccessToken
	}
	tests := []struct {
		name, client, secret string
		resources            []string
		accepted             bool
	}{
		{"jwt for this resource", jwtClientID, jwtSecret, []string{application.DemoResource}, true},
		{"jwt with the default audience", jwtClientID, jwtSecret, nil, false},
		{"opaque for this resource", "opaque-for-demo", "opaque-for-demo-secret", []string{application.DemoResource}, true},
		{"opaque for this and another resource", "opaque-for-demo", "opaque-for-demo-secret", []string{"https://reports.example.com", application.DemoResource}, true},
		{"opaque for another resource", "opaque-for-demo", "opaque-for-demo-secret", []string{"https://reports.example.com"}, false},
		{"opaque with the default audience", opaqueClientID, opaqueSecret, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := issue(t, tt.client, tt.secret, tt.resources...)
			tok, err := e.bearerFor(application.DemoResource).Handle(t.Context(), application.AuthorizeBearerInput{Token: raw, Required: countryRead})
			if tt.accepted {
				if err != nil {
					t.Errorf("token for this resource refused: %v", err)
				} else if tok.ClientID != tt.client {
					t.Errorf("authorised token is client %q, want %q", tok.ClientID, tt.client)
				}
				return
			}
			wantOAuthError(t, err, domain.ErrInvalidToken)
			if tok.ClientID != "" {
				t.Errorf("refused token still returned %+v", tok)
			}
		})
	}
}

// Without an identifier configured the resource server checks no aud.
func TestAuthorizeBearerNoAudienceConfigured(t *testing.T) {
	e := newEnv(t)
	for _, raw := range []string{
		e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken,
		e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken,
	} {
		if _, err := e.bearerFor("").Handle(t.Context(), application.AuthorizeBearerInput{Token: raw, Required: countryRead}); err != nil {
			t.Errorf("token with aud = client id refused with no audience configured: %v", err)
		}
	}
}

// A token the feed reported revoked is refused on a resource node, even
// though it still verifies (a JWT) or its introspection is still cached
// (an opaque token); other tokens of the client are not.
func TestAuthorizeBearerRevoked(t *testing.T) {
	tests := []struct {
		name, client, secret string
	}{
		{"jwt", jwtClientID, jwtSecret},
		{"opaque", opaqueClientID, opaqueSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			raw := e.issueToken(t, tt.client, tt.secret, "").AccessToken
			other := e.issueToken(t, tt.client, tt.secret, "").AccessToken
			tok := e.issued(t, raw)
			in := application.AuthorizeBearerInput{Token: raw, Required: countryRead}
			if _, err := e.bearer().Handle(t.Context(), in); err != nil {
				t.Fatalf("token refused before its revocation: %v", err)
			}

			e.revoked.Apply(domain.Event{Kind: domain.EventRevoked, JTI: tok.ID, ExpiresAt: tok.ExpiresAt})

			got, err := e.bearer().Handle(t.Context(), in)
			oerr := wantOAuthError(t, err, domain.ErrInvalidToken)
			if oerr.Description != "the token was revoked" {
				t.Errorf("refused with %q, want %q", oerr.Description, "the token was revoked")
			}
			if got.ClientID != "" {
				t.Errorf("refused token still returned %+v", got)
			}
			if _, err := e.bearer().Handle(t.Context(), application.AuthorizeBearerInput{Token: other, Required: countryRead}); err != nil {
				t.Errorf("another token of the client refused: %v", err)
			}
		})
	}
}
