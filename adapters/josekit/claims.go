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
}
