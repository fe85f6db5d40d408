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
	// AsJWT asks for the answer as a signed JWT (RFC 9701 §4).
	AsJWT bool
}

// Introspection is the answer: Token is meaningful only when Active. JWT
// is the signed answer when the request asked for one.
type Introspection struct {
	Active bool
	Token  domain.Token
	JWT    string
}

// Introspect tells an authenticated, authorised client whether a token is
// active and what it grants (RFC 7662). It knows opaque tokens from the
// token store and JWTs from the authorization server's own keys.
type Introspect struct {
	traced
	auth   *AuthenticateClient
	lookup *tokenLookup
	clock  Clock
	keys   *KeyRing
	signer IntrospectionSigner
	issuer string
}

// NewIntrospect builds the use case; verifier checks JWTs against the
// server's own published keys, denied holds revoked JWTs, and signer and
// keys sign RFC 9701 answers as issuer.
func NewIntrospect(auth *AuthenticateClient, store TokenStore, verifier AccessTokenVerifier, denied DenyList, clock Clock, keys *KeyRing, signer IntrospectionSigner, issuer string) *Introspect {
	return &Introspect{
		auth:   auth,
		lookup: &tokenLookup{store: store, verifier: verifier, denied: denied},
		clock:  clock, keys: keys, signer: signer, issuer: issuer,
	}
}

// HonourClientRevocations makes every token of a client whose tokens were
// revoked as a whole (RevokeClientTokens) inactive, by the times in set.
func (h *Introspect) HonourClientRevocations(set *RevocationSet) { h.lookup.clients = set }

// Handle answers an introspection request. Unknown, expired and malformed
// tokens are simply inactive (RFC 7662 §2.2).
func (h *Introspect) Handle(ctx context.Context, in IntrospectInput) (_ Introspection, err error) {
	ctx, end := h.span(ctx, "Introspect")
	defer func() { end(err) }()

	in.Credentials.Endpoint = EndpointIntrospection
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
	res, err := h.introspect(ctx, in.Token)
	if err != nil {
		return Introspection{}, err
	}
	if in.AsJWT {
		key, ok := h.keys.Active()
		if !ok {
			return Introspection{}, fmt.Errorf("no active signing key: %w", domain.ErrTemporarilyUnavailable)
		}
		res.JWT, err = h.signer.SignIntrospection(ctx, key, SignedIntrospection{
			Issuer: h.issuer, Audience: client.ID, IssuedAt: h.clock.Now(), Result: res,
		})
		if err != nil {
			return Introspection{}, fmt.Errorf("sign introspection: %w", err)
		}
	}
	return res, nil
}

func (h *Introspect) introspect(ctx context.Context, raw string) (Introspection, error) {
	t, found, err := h.lookup.find(ctx, raw)
	if err != nil {
		return Introspection{}, fmt.Errorf("introspect: %w", err)
	}
	if !found || !t.ActiveAt(h.clock.Now(), 0) || h.lookup.clients.ClientRevoked(t.ClientID, t.IssuedAt) {
		return Introspection{}, nil
	}
	return Introspection{Active: true, Token: t}, nil
}

// tokenLookup finds a token Sigil issued, opaque or JWT, unless revoked.
type tokenLookup struct {
	store    TokenStore
	verifier AccessTokenVerifier
	denied   DenyList
	// clients, when set, holds the revocations of whole clients' tokens.
	clients *RevocationSet
}

// find returns the token raw stands for; found is false for anything that
// is not a live token this server issued. Errors are infrastructure
// failures only.
func (l *tokenLookup) find(ctx context.Context, raw string) (t domain.Token, found bool, err error) {
	if !LooksLikeJWT(raw) {
		t, err = l.store.FindToken(ctx, raw)
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Token{}, false, nil
		}
		if err != nil || t.Parent == "" {
			return t, err == nil, err
		}
		// An opaque token exchanged from another is revoked with it by its
		// jti (revokeExchanged), which only the deny list holds: its value,
		// which keys the store, is kept nowhere to delete it by.
	} else {
		t, err = l.verifier.VerifyAccessToken(ctx, raw)
		if errors.Is(err, domain.ErrInvalidToken) {
			return domain.Token{}, false, nil
		}
		if err != nil {
			return domain.Token{}, false, err
		}
	}
	denied, err := l.denied.IsDenied(ctx, t.ID)
	if err != nil {
		return domain.Token{}, false, fmt.Errorf("check deny list: %w", err)
	}
	return t, !denied, nil
}

// LooksLikeJWT reports whether raw has the shape of a compact JWS: three
// dot-separated parts. Opaque tokens Sigil issues never contain a dot.
func LooksLikeJWT(raw string) bool { return strings.Count(raw, ".") == 2 }
