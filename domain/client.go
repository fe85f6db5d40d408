package domain

import (
	"slices"
	"time"
)

// AuthMethod is a client authentication method at the token endpoint
// (RFC 7591 §2, token_endpoint_auth_method).
type AuthMethod string

// Authentication methods.
const (
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	AuthClientSecretPost  AuthMethod = "client_secret_post"
)

// GrantType is an OAuth 2.0 grant type.
type GrantType string

// Grant types.
const (
	GrantClientCredentials GrantType = "client_credentials"
)

// TokenFormat says whether a client's access tokens are self-contained JWTs
// or opaque references kept by the authorization server.
type TokenFormat string

// Token formats.
const (
	FormatJWT    TokenFormat = "jwt"
	FormatOpaque TokenFormat = "opaque"
)

// Valid reports whether f is a known format.
func (f TokenFormat) Valid() bool { return f == FormatJWT || f == FormatOpaque }

// DefaultTokenLifetime is used for a client that sets none.
const DefaultTokenLifetime = time.Hour

// Client is a registered OAuth client.
type Client struct {
	ID string
	// SecretHash is the encoded slow hash of the client secret (argon2id or
	// bcrypt); the secret itself is never stored.
	SecretHash    string
	AuthMethods   []AuthMethod
	GrantTypes    []GrantType
	AllowedScopes Scopes
	// DefaultScopes are granted when a request names no scope.
	DefaultScopes Scopes
	// Audience is the aud of the client's tokens; empty means the client id.
	Audience      []string
	TokenFormat   TokenFormat
	TokenLifetime time.Duration
	// CanIntrospect allows the client to call the introspection endpoint.
	CanIntrospect bool
}

// AllowsAuthMethod reports whether the client may authenticate with m.
func (c Client) AllowsAuthMethod(m AuthMethod) bool { return slices.Contains(c.AuthMethods, m) }

// AllowsGrant reports whether the client may use grant type g.
func (c Client) AllowsGrant(g GrantType) bool { return slices.Contains(c.GrantTypes, g) }

// GrantScopes decides the scopes of a token for a request naming requested:
// none requested gives the default scopes; otherwise each must be allowed
// (RFC 6749 §3.3), or the request fails with invalid_scope.
func (c Client) GrantScopes(requested Scopes) (Scopes, error) {
	if len(requested) == 0 {
		return c.DefaultScopes, nil
	}
	for _, s := range requested {
		if !c.AllowedScopes.Contains(s) {
			return nil, ErrInvalidScope.With("scope " + s + " is not allowed for this client")
		}
	}
	return requested, nil
}

// TokenAudience is the aud of the client's tokens.
func (c Client) TokenAudience() []string {
	if len(c.Audience) == 0 {
		return []string{c.ID}
	}
	return c.Audience
}

// Lifetime is the lifetime of the client's tokens.
func (c Client) Lifetime() time.Duration {
	if c.TokenLifetime <= 0 {
		return DefaultTokenLifetime
	}
	return c.TokenLifetime
}
