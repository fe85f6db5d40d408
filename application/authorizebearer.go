package application

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sigilauth/sigil/domain"
)

// AuthorizeBearerInput is the token a request to a protected resource
// carried and the scopes the resource requires.
type AuthorizeBearerInput struct {
	Token    string
	Required domain.Scopes
	// DPoP is set when the token came with the DPoP scheme (RFC 9449
	// §7.1), with the values of the request's DPoP header fields, and the
	// request's method and URL (without query) the proof must name.
	DPoP       bool
	DPoPProofs []string
	Method     string
	URL        string
	// Certificate is the x5t#S256 of the TLS client certificate the
	// request came with (RFC 8705 §3), empty without one.
	Certificate string
}

// AuthorizeBearer is the resource server's check of a bearer token
// (RFC 6750): a JWT is verified locally against the authorization server's
// published keys, an opaque token is introspected.
type AuthorizeBearer struct {
	traced
	jwts     AccessTokenVerifier
	opaque   TokenIntrospector
	revoked  *RevocationSet
	audience string
	dpop     *DPoPCheck
	// senderOnly: see RequireSenderConstrained.
	senderOnly bool
}

// NewAuthorizeBearer builds the use case. revoked holds the revocations
// the feed reported. A non-empty audience is this resource server's
// identifier: tokens whose aud does not name it are refused (RFC 9068 §4,
// RFC 8707).
func NewAuthorizeBearer(jwts AccessTokenVerifier, opaque TokenIntrospector, revoked *RevocationSet, audience string) *AuthorizeBearer {
	return &AuthorizeBearer{jwts: jwts, opaque: opaque, revoked: revoked, audience: audience}
}

// Handle returns the token if it is valid and carries every required
// scope; invalid_token or insufficient_scope otherwise.
func (h *AuthorizeBearer) Handle(ctx context.Context, in AuthorizeBearerInput) (_ domain.Token, err error) {
	ctx, end := h.span(ctx, "AuthorizeBearer")
	defer func() { end(err) }()

	var t domain.Token
	if LooksLikeJWT(in.Token) {
		t, err = h.jwts.VerifyAccessToken(ctx, in.Token)
	} else {
		t, err = h.opaque.IntrospectToken(ctx, in.Token)
	}
	if err != nil {
		if errors.Is(err, domain.ErrInvalidToken) {
			return domain.Token{}, err
		}
		return domain.Token{}, fmt.Errorf("check bearer token: %w", err)
	}
	if h.revoked.Revoked(t.ID) || h.revoked.ClientRevoked(t.ClientID, t.IssuedAt) {
		return domain.Token{}, domain.ErrInvalidToken.With("the token was revoked")
	}
	if h.audience != "" && !slices.Contains(t.Audience, h.audience) {
		return domain.Token{}, domain.ErrInvalidToken.With("the token is not intended for this resource")
	}
	if err := h.checkBinding(ctx, in, t); err != nil {
		return domain.Token{}, err
	}
	if err := h.checkCertBinding(in, t); err != nil {
		return domain.Token{}, err
	}
	if !t.Scopes.ContainsAll(in.Required) {
		return domain.Token{}, &domain.Error{
			Code:        domain.CodeInsufficientScope,
			Description: "the token lacks a required scope",
			Scope:       in.Required.String(),
		}
	}
	return t, nil
}
