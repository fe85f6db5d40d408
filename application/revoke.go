package application

import (
	"context"
	"fmt"

	"github.com/sigilauth/sigil/domain"
)

// RevokeInput is a revocation request (RFC 7009 §2.1).
type RevokeInput struct {
	Credentials ClientCredentials
	Token       string
	// TokenTypeHint is only a hint: Sigil looks the token up by its shape
	// whatever the hint says (RFC 7009 §2.1 allows ignoring it).
	TokenTypeHint string
}

// RevokeToken lets a client revoke an access token it was issued: an
// opaque token is deleted from the store; a JWT's jti is denied until the
// token expires, so introspection calls it inactive.
type RevokeToken struct {
	traced
	auth   *AuthenticateClient
	lookup *tokenLookup
	store  TokenStore
	denied DenyList
	events EventPublisher
	audit  Auditor
	// ledger, when set, lists the tokens exchanged from each token.
	ledger ExchangeLedger
}

// CascadeTo makes a revocation revoke the tokens exchanged from the
// token (RFC 8693), and from those, as ledger records them.
func (h *RevokeToken) CascadeTo(ledger ExchangeLedger) { h.ledger = ledger }

// AuditTo records every token revoked on a (AuditTokenRevoked).
func (h *RevokeToken) AuditTo(a Auditor) { h.audit = a }

// NewRevokeToken builds the use case; verifier checks JWTs against the
// server's own keys; events carries each revocation to the resource
// servers.
func NewRevokeToken(auth *AuthenticateClient, store TokenStore, verifier AccessTokenVerifier, denied DenyList, events EventPublisher) *RevokeToken {
	return &RevokeToken{
		auth:   auth,
		lookup: &tokenLookup{store: store, verifier: verifier, denied: denied},
		store:  store,
		denied: denied,
		events: events,
	}
}

// Handle revokes the token. A token the server does not know, or one that
// is expired or already revoked, is answered as success (RFC 7009 §2.2);
// a token issued to another client is refused with unauthorized_client
// (§2.1: the server verifies the token was issued to the requester).
func (h *RevokeToken) Handle(ctx context.Context, in RevokeInput) (err error) {
	ctx, end := h.span(ctx, "RevokeToken")
	defer func() { end(err) }()

	in.Credentials.Endpoint = EndpointRevocation
	client, err := h.auth.Handle(ctx, in.Credentials)
	if err != nil {
		return err
	}
	if in.Token == "" {
		return domain.ErrInvalidRequest.With("token is required")
	}
	t, found, err := h.lookup.find(ctx, in.Token)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	if !found {
		return nil
	}
	if t.ClientID != client.ID {
		return domain.ErrUnauthorizedClient.With("the token was not issued to this client")
	}
	// What was exchanged from the token goes first: should that fail (503),
	// the token is still live and the client's retry walks the chain again.
	seen := map[string]bool{}
	if err := revokeExchanged(ctx, h.ledger, h.denied, h.events, t.ID, seen); err != nil {
		return fmt.Errorf("revoke exchanged tokens: %w", err)
	}
	// The jti goes on the deny list for both formats: a resource node that
	// cached an opaque token's introspection, or verifies a JWT locally,
	// learns of the revocation from the feed, or from the deny list when it
	// catches up after missing the message.
	if err := h.denied.Deny(ctx, t.ID, t.ExpiresAt); err != nil {
		return fmt.Errorf("deny jti: %w", err)
	}
	if t.Format != domain.FormatJWT {
		if err := h.store.DeleteToken(ctx, in.Token); err != nil {
			return fmt.Errorf("delete token: %w", err)
		}
	}
	if err := h.events.Publish(ctx, domain.Event{Kind: domain.EventRevoked, JTI: t.ID, ExpiresAt: t.ExpiresAt}); err != nil {
		return fmt.Errorf("publish revocation: %w", err)
	}
	audit(ctx, h.audit, AuditEvent{Kind: AuditTokenRevoked, ClientID: t.ClientID, Format: t.Format, JTI: t.ID, ExpiresAt: t.ExpiresAt})
	// Once more, for a token exchanged from this one while it was being
	// revoked: the exchange had found it live just before.
	if err := revokeExchanged(ctx, h.ledger, h.denied, h.events, t.ID, seen); err != nil {
		return fmt.Errorf("revoke exchanged tokens: %w", err)
	}
	return nil
}
