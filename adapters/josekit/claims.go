package josekit

import "github.com/sigilauth/sigil/adapters/internal/claims"

// accessTokenClaims is the JWT Claims Set of an access token as RFC 9068
// §2.2 lays it out. A fixed struct, not a map: cheaper to marshal, and
// nothing unexpected can slip in.
type accessTokenClaims struct {
	Issuer    string             `json:"iss"`
	Subject   string             `json:"sub,omitempty"`
	Audience  claims.Audience    `json:"aud,omitempty"`
	ExpiresAt claims.NumericDate `json:"exp"`
	IssuedAt  claims.NumericDate `json:"iat,omitempty"`
	NotBefore claims.NumericDate `json:"nbf,omitempty"`
	ID        string             `json:"jti,omitempty"`
	ClientID  string             `json:"client_id,omitempty"`
	Scope     claims.Scope       `json:"scope,omitempty"`
	// Cnf binds the token to a DPoP key (RFC 9449 §6.1).
	Cnf *claims.Confirmation `json:"cnf,omitempty"`
	// Act says who acts for the subject of an exchanged token (RFC 8693
	// §4.1).
	Act *claims.Actor `json:"act,omitempty"`
}

// assertionClaims are the claims Sigil reads from a client assertion
// (RFC 7523 §3). aud may be a string or an array.
type assertionClaims struct {
	Issuer    string             `json:"iss"`
	Subject   string             `json:"sub"`
	Audience  claims.Audience    `json:"aud"`
	ID        string             `json:"jti"`
	IssuedAt  claims.NumericDate `json:"iat"`
	NotBefore claims.NumericDate `json:"nbf"`
	ExpiresAt claims.NumericDate `json:"exp"`
}

// introspectionJWTClaims is an RFC 9701 §5 introspection response: iss,
// aud and iat describe the response JWT itself, token_introspection holds
// the RFC 7662 §2.2 answer, the same the plain endpoint sends. Top-level
// sub and exp are left out, as §5 advises, so the response cannot pass
// for an access token.
type introspectionJWTClaims struct {
	Issuer             string               `json:"iss"`
	Audience           string               `json:"aud"`
	IssuedAt           claims.NumericDate   `json:"iat"`
	TokenIntrospection claims.Introspection `json:"token_introspection"`
}
