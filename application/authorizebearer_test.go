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
	return application.NewAuthorizeBearer(e.verifier, fakes.Introspector{Store: e.tokens})
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
	bearer := application.NewAuthorizeBearer(e.verifier, down)

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
