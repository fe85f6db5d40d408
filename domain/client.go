package domain

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuthMethod is a client authentication method at the token endpoint
// (RFC 7591 §2, token_endpoint_auth_method).
type AuthMethod string

// Authentication methods: the secret sent as such (RFC 6749 §2.3.1), or a
// signed JWT assertion (RFC 7523 §2.2, OpenID Connect Core §9).
const (
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	AuthClientSecretPost  AuthMethod = "client_secret_post"
	AuthClientSecretJWT   AuthMethod = "client_secret_jwt"
	AuthPrivateKeyJWT     AuthMethod = "private_key_jwt"
)

// AuthMethods lists every authentication method Sigil implements.
var AuthMethods = []AuthMethod{AuthClientSecretBasic, AuthClientSecretPost, AuthClientSecretJWT, AuthPrivateKeyJWT,
	AuthTLSClientAuth, AuthSelfSignedTLSClientAuth}

// ClientSecret is one of a client's secrets. A client may hold several at
// once, each with its own expiry, so a secret can be replaced without
// downtime: add the new one, move the callers, let the old one expire.
type ClientSecret struct {
	// ID names the secret for the operator (e.g. "2026-11"); it is never a
	// credential.
	ID string
	// Hash is the slow salted hash (argon2id or bcrypt) that
	// client_secret_basic and client_secret_post are checked against.
	Hash string
	// Sealed is the secret encrypted under the server's key-encryption key,
	// kept only for a client allowed client_secret_jwt: checking an HMAC
	// needs the secret itself (RFC 7523 §2.2 with HS256). Empty otherwise.
	Sealed []byte
	// ExpiresAt ends the secret's validity; zero means it does not expire.
	ExpiresAt time.Time
}

// ValidAt reports whether the secret may be used at now.
func (s ClientSecret) ValidAt(now time.Time) bool {
	return s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt)
}

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
	// Secrets are the client's shared secrets, for the client_secret_*
	// methods.
	Secrets       []ClientSecret
	AuthMethods   []AuthMethod
	GrantTypes    []GrantType
	AllowedScopes Scopes
	// DefaultScopes are granted when a request names no scope.
	DefaultScopes Scopes
	// Audience is the aud of the client's tokens when the request names no
	// resource; empty means the client id.
	Audience []string
	// Resources are the resource indicators (RFC 8707) the client may ask
	// a token for; each becomes the token's aud.
	Resources []string
	// JWKS is the client's public keys as a JSON Web Key Set, and JWKSURI
	// where to fetch them: what private_key_jwt assertions are checked
	// against (RFC 7591 §2: jwks, jwks_uri). At most one is set.
	JWKS          string
	JWKSURI       string
	TokenFormat   TokenFormat
	TokenLifetime time.Duration
	// CanIntrospect allows the client to call the introspection endpoint.
	CanIntrospect bool
	// DPoPBound is dpop_bound_access_tokens (RFC 9449 §5.2): the client
	// always sends a DPoP proof, so a token request without one is
	// refused rather than answered with a bearer token.
	DPoPBound bool
	// TLSSubject is what a tls_client_auth client's certificate must
	// name (RFC 8705 §2.1.2); zero for other clients.
	TLSSubject TLSSubject
	// CertBound is tls_client_certificate_bound_access_tokens (RFC 8705
	// §3.4): the client's tokens are bound to its TLS certificate even
	// when it authenticates otherwise, and a request without one fails.
	CertBound bool
	// Profile is the security profile the client follows: "" or
	// ProfileFAPI2.
	Profile Profile
	// Exchange is what the client may do with the token exchange grant
	// (RFC 8693); zero for a client without it.
	Exchange ExchangePolicy
}

// AllowsAuthMethod reports whether the client may authenticate with m:
// one it registered, and under FAPI 2.0 one the profile allows.
func (c Client) AllowsAuthMethod(m AuthMethod) bool {
	return slices.Contains(c.AuthMethods, m) && (!c.FAPI2() || slices.Contains(FAPI2AuthMethods, m))
}

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

// ValidSecrets returns the secrets usable at now.
func (c Client) ValidSecrets(now time.Time) []ClientSecret {
	var out []ClientSecret
	for _, s := range c.Secrets {
		if s.ValidAt(now) {
			out = append(out, s)
		}
	}
	return out
}

// TokenAudience decides the aud of a token for a request naming resources
// (RFC 8707 §2): none gives the client's default audience; otherwise each
// must be an absolute URI without a fragment that the client may ask for,
// or the request fails with invalid_target.
func (c Client) TokenAudience(resources []string) ([]string, error) {
	if len(resources) == 0 {
		if len(c.Audience) == 0 {
			return []string{c.ID}, nil
		}
		return c.Audience, nil
	}
	for _, r := range resources {
		if !ValidResourceIndicator(r) {
			return nil, ErrInvalidTarget.With("resource must be an absolute URI without a fragment")
		}
		if !slices.Contains(c.Resources, r) {
			return nil, ErrInvalidTarget.With("resource " + r + " is not allowed for this client")
		}
	}
	out := slices.Clone(resources)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ValidResourceIndicator reports whether r may be a resource parameter:
// an absolute URI with no fragment (RFC 8707 §2), hierarchical with a
// host (https://api.example.com) or opaque (urn:example:api).
func ValidResourceIndicator(r string) bool {
	u, err := url.Parse(r)
	return err == nil && u.IsAbs() && (u.Host != "" || u.Opaque != "") && !strings.Contains(r, "#")
}

// Lifetime is the lifetime of the client's tokens.
func (c Client) Lifetime() time.Duration {
	if c.TokenLifetime <= 0 {
		return DefaultTokenLifetime
	}
	return c.TokenLifetime
}

// Validate checks that a client registration is coherent before it is
// stored: a known token format and methods, default scopes among the
// allowed ones, valid resource indicators, and credentials for each
// method it allows.
func (c Client) Validate() error {
	bad := func(why string) error { return ErrInvalidClientMetadata.With(why) }
	if c.ID == "" {
		return bad("client id is required")
	}
	if !c.TokenFormat.Valid() {
		return bad("token format must be jwt or opaque")
	}
	if len(c.AuthMethods) == 0 {
		return bad("at least one authentication method is required")
	}
	for _, m := range c.AuthMethods {
		if !slices.Contains(AuthMethods, m) && m != AuthFederatedJWT {
			return bad("unknown authentication method " + string(m))
		}
	}
	if len(c.GrantTypes) == 0 {
		return bad("at least one grant type is required")
	}
	for _, g := range c.GrantTypes {
		if g != GrantClientCredentials && g != GrantTokenExchange {
			return bad("unsupported grant type " + string(g))
		}
	}
	for _, s := range c.AllowedScopes {
		if !validScopeToken(s) || s == "" {
			return bad("scope " + strconv.Quote(s) + " is not a valid scope token (RFC 6749 §3.3)")
		}
	}
	if !c.AllowedScopes.ContainsAll(c.DefaultScopes) {
		return bad("default scopes must be among the allowed scopes")
	}
	for _, r := range c.Resources {
		if !ValidResourceIndicator(r) {
			return bad("resource " + r + " is not an absolute URI without a fragment")
		}
	}
	usesSecret := c.AllowsAuthMethod(AuthClientSecretBasic) || c.AllowsAuthMethod(AuthClientSecretPost) || c.AllowsAuthMethod(AuthClientSecretJWT)
	if usesSecret && len(c.Secrets) == 0 {
		return bad("a client_secret_* method needs at least one secret")
	}
	if c.AllowsAuthMethod(AuthPrivateKeyJWT) && (c.JWKS == "") == (c.JWKSURI == "") {
		return bad("private_key_jwt needs exactly one of jwks and jwks_uri")
	}
	if c.TokenLifetime < 0 {
		return bad("token lifetime must not be negative")
	}
	if err := c.validateProfile(); err != nil {
		return err
	}
	if err := c.validateExchange(); err != nil {
		return err
	}
	return c.validateTLS()
}
