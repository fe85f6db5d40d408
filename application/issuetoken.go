package application

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// IssueTokenInput is a token request (RFC 6749 §4.4.2).
type IssueTokenInput struct {
	Credentials ClientCredentials
	GrantType   string
	Scope       string
	// Resources are the resource parameters (RFC 8707 §2), possibly several.
	Resources []string
	// DPoPProofs are the values of the request's DPoP header fields (RFC
	// 9449 §5), none without DPoP; Method is the request's HTTP method.
	DPoPProofs []string
	Method     string
	// Assertion is the assertion of the JWT bearer grant (RFC 7523 §2.1).
	Assertion string
	// The token exchange parameters (RFC 8693 §2.1); Resources holds its
	// resource parameters, Audiences its audience parameters.
	SubjectToken, SubjectTokenType string
	ActorToken, ActorTokenType     string
	Audiences                      []string
	RequestedTokenType             string
}

// IssuedToken is a successful token response (RFC 6749 §5.1).
type IssuedToken struct {
	AccessToken string
	TokenType   string
	ExpiresIn   int64
	Scope       string
	// ClientID is the client the token was issued to.
	ClientID string
	// IssuedTokenType is the issued_token_type of a token exchange answer
	// (RFC 8693 §2.2.1); empty for the other grants.
	IssuedTokenType string
	// DPoPNonce, when set, is a fresh server nonce for the client's next
	// proofs, sent in the DPoP-Nonce header (RFC 9449 §8.2).
	DPoPNonce string
}

// GrantTypes are the grant types IssueToken implements whatever it is
// configured with; token exchange (ExchangeWith) and the JWT bearer grant
// (with a Federation) are added when on.
var GrantTypes = []domain.GrantType{domain.GrantClientCredentials}

// IssueToken runs the client_credentials grant: it authenticates the
// client, decides the scopes, and issues a JWT or an opaque token as the
// client is configured.
type IssueToken struct {
	traced
	auth   *AuthenticateClient
	keys   *KeyRing
	signer AccessTokenSigner
	store  TokenStore
	clock  Clock
	random io.Reader
	issuer string
	audit  Auditor
	dpop   *tokenDPoP
	// exchange, when set, serves the token exchange grant.
	exchange *TokenExchange
}

// AuditTo records every token issued on a (AuditTokenIssued).
func (h *IssueToken) AuditTo(a Auditor) { h.audit = a }

// NewIssueToken builds the use case. random must be a cryptographic source.
func NewIssueToken(auth *AuthenticateClient, keys *KeyRing, signer AccessTokenSigner, store TokenStore, clock Clock, random io.Reader, issuer string) *IssueToken {
	return &IssueToken{auth: auth, keys: keys, signer: signer, store: store, clock: clock, random: random, issuer: issuer}
}

// Handle answers a token request.
func (h *IssueToken) Handle(ctx context.Context, in IssueTokenInput) (_ IssuedToken, err error) {
	ctx, end := h.span(ctx, "IssueToken")
	defer func() { end(err) }()
	return h.issue(ctx, in, false)
}

// issue answers a token request; expired backdates the token so that it
// expired expiredBy ago (IssueExpiredDemoToken), never for a real one.
func (h *IssueToken) issue(ctx context.Context, in IssueTokenInput, expired bool) (_ IssuedToken, err error) {
	if in.GrantType == "" {
		return IssuedToken{}, domain.ErrInvalidRequest.With("grant_type is required")
	}
	in.Credentials.Endpoint = EndpointToken
	var client domain.Client
	grant := domain.GrantType(in.GrantType)
	if in.GrantType == GrantTypeJWTBearer {
		// A client_credentials token for the client the assertion maps to.
		client, err = h.auth.federatedGrant(ctx, in)
		grant = domain.GrantClientCredentials
	} else {
		client, err = h.auth.Handle(ctx, in.Credentials)
	}
	if err != nil {
		return IssuedToken{}, err
	}
	switch {
	case grant == domain.GrantClientCredentials, grant == domain.GrantTokenExchange && h.exchange != nil:
	default:
		return IssuedToken{}, domain.ErrUnsupportedGrantType.With("grant_type " + in.GrantType + " is not supported")
	}
	if !client.AllowsGrant(grant) {
		return IssuedToken{}, domain.ErrUnauthorizedClient.With("client may not use grant_type " + in.GrantType)
	}
	now := h.clock.Now().Truncate(time.Second)
	g := exchangeGrant{subject: client.ID, format: client.TokenFormat, expiresAt: now.Add(client.Lifetime())}
	if grant == domain.GrantTokenExchange {
		if g, err = h.exchange.decide(ctx, client, in); err != nil {
			return IssuedToken{}, err
		}
		if limit := now.Add(client.Lifetime()); g.expiresAt.After(limit) {
			g.expiresAt = limit
		}
		if !g.expiresAt.After(now) {
			return IssuedToken{}, domain.ErrInvalidRequest.With("subject_token is invalid").Because("subject token expires within the second")
		}
	} else {
		requested, err := domain.ParseScopes(in.Scope)
		if err != nil {
			return IssuedToken{}, err
		}
		if g.scopes, err = client.GrantScopes(requested); err != nil {
			return IssuedToken{}, err
		}
		if g.audience, err = client.TokenAudience(in.Resources); err != nil {
			return IssuedToken{}, err
		}
	}
	scopes, audience := g.scopes, g.audience
	jkt, nonce, err := h.dpopKey(ctx, client, in)
	if err != nil {
		return IssuedToken{}, err
	}
	x5t, err := certBinding(client, in.Credentials, jkt)
	if err != nil {
		return IssuedToken{}, err
	}

	jti, err := newUUID(h.random)
	if err != nil {
		return IssuedToken{}, err
	}
	answeredAt := now
	if expired {
		// Backdated as a whole, so that it expired expiredBy ago.
		if client.TokenFormat != domain.FormatJWT || grant != domain.GrantClientCredentials {
			return IssuedToken{}, errNotDemoJWTClient
		}
		shift := client.Lifetime() + expiredBy
		now, g.expiresAt = now.Add(-shift), g.expiresAt.Add(-shift)
	}
	t := domain.Token{
		Format:    g.format,
		ID:        jti,
		Issuer:    h.issuer,
		Subject:   g.subject,
		ClientID:  client.ID,
		Scopes:    scopes,
		Audience:  audience,
		IssuedAt:  now,
		NotBefore: now,
		ExpiresAt: g.expiresAt,
		JKT:       jkt,
		X5T:       x5t,
		Actor:     g.actor,
		Parent:    g.parent,
	}
	if h.exchange != nil {
		if err := h.exchange.record(ctx, g.parent, t); err != nil {
			return IssuedToken{}, err
		}
	}
	var alg domain.Algorithm
	switch g.format {
	case domain.FormatOpaque:
		if t.Value, err = newOpaqueValue(h.random); err != nil {
			return IssuedToken{}, err
		}
		if err := h.store.SaveToken(ctx, t); err != nil {
			return IssuedToken{}, fmt.Errorf("save opaque token: %w", err)
		}
	default:
		key, ok := h.keys.Active()
		if !ok {
			// Only for a moment: between the revocation of the signing key
			// on another node and this node's reload of its successor. The
			// client may retry (503 with Retry-After).
			return IssuedToken{}, fmt.Errorf("no active signing key: %w", domain.ErrTemporarilyUnavailable)
		}
		if t.Value, err = h.signer.SignAccessToken(ctx, key, t); err != nil {
			return IssuedToken{}, fmt.Errorf("sign access token: %w", err)
		}
		t.KeyID, t.Format, alg = key.ID, domain.FormatJWT, key.Algorithm
	}
	audit(ctx, h.audit, AuditEvent{
		Kind: AuditTokenIssued, ClientID: t.ClientID, Scope: scopes.String(), Audience: t.Audience,
		Format: t.Format, JTI: t.ID, ExpiresAt: t.ExpiresAt, KID: t.KeyID, Algorithm: alg,
		Subject: exchanged(grant, t.Subject), Actor: actorOf(t.Actor), Parent: t.Parent,
	})
	return IssuedToken{
		AccessToken:     t.Value,
		TokenType:       t.Type(),
		ExpiresIn:       int64(t.ExpiresAt.Sub(answeredAt) / time.Second),
		Scope:           scopes.String(),
		ClientID:        client.ID,
		IssuedTokenType: g.issuedType,
		DPoPNonce:       nonce,
	}, nil
}

// exchanged is sub for a token exchange, empty otherwise (where it is the
// client id the event already names).
func exchanged(g domain.GrantType, sub string) string {
	if g != domain.GrantTokenExchange {
		return ""
	}
	return sub
}

// actorOf is the current actor's sub, empty for none.
func actorOf(a *domain.Actor) string {
	if a == nil {
		return ""
	}
	return a.Subject
}
