package application

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sigilauth/sigil/domain"
)

// IntrospectInput is an introspection request (RFC 7662 §2.1).
type IntrospectInput struct {
	Credentials ClientCredentials
	Token       string
}

// Introspection is the answer: Token is meaningful only when Active.
type Introspection struct {
	Active bool
	Token  domain.Token
}

// Introspect tells an authenticated, authorised client whether a token is
// active and what it grants (RFC 7662). It knows opaque tokens from the
// token store and JWTs from the authorization server's own keys.
type Introspect struct {
	auth     *AuthenticateClient
	store    TokenStore
	verifier AccessTokenVerifier
	clock    Clock
}

// NewIntrospect builds the use case; verifier checks JWTs against the
// server's own published keys.
func NewIntrospect(auth *AuthenticateClient, store TokenStore, verifier AccessTokenVerifier, clock Clock) *Introspect {
	return &Introspect{auth: auth, store: store, verifier: verifier, clock: clock}
}

// Handle answers an introspection request. Unknown, expired and malformed
// tokens are simply inactive (RFC 7662 §2.2).
func (h *Introspect) Handle(ctx context.Context, in IntrospectInput) (Introspection, error) {
	client, err := h.auth.Handle(ctx, in.Credentials)
	if err != nil {
		return Introspection{}, err
	}
	if !client.CanIntrospect {
		return Introspection{}, domain.ErrUnauthorizedClient.With("client may not introspect tokens")
	}
	if in.Token == "" {
		return Introspection{}, domain.ErrInvalidRequest.With("token is required")
	}
	var t domain.Token
	if LooksLikeJWT(in.Token) {
		t, err = h.verifier.VerifyAccessToken(ctx, in.Token)
		if errors.Is(err, domain.ErrInvalidToken) {
			return Introspection{}, nil
		}
	} else {
		t, err = h.store.FindToken(ctx, in.Token)
		if errors.Is(err, domain.ErrNotFound) {
			return Introspection{}, nil
		}
	}
	if err != nil {
		return Introspection{}, fmt.Errorf("introspect: %w", err)
	}
	if !t.ActiveAt(h.clock.Now(), 0) {
		return Introspection{}, nil
	}
	return Introspection{Active: true, Token: t}, nil
}

// LooksLikeJWT reports whether raw has the shape of a compact JWS: three
// dot-separated parts. Opaque tokens Sigil issues never contain a dot.
func LooksLikeJWT(raw string) bool { return strings.Count(raw, ".") == 2 }
