package application

import (
	"context"
	"fmt"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// RevokeClientTokens revokes every token a client holds, of both formats,
// at once: it records the time up to which the client's tokens are
// refused, and tells every node. Resource nodes refuse such a JWT on the
// next request, cached or not, and introspection answers such tokens
// inactive. Tokens issued after that second are not touched.
type RevokeClientTokens struct {
	clients ClientFinder
	store   ClientRevocationStore
	events  EventPublisher
	clock   Clock
	audit   Auditor
}

// NewRevokeClientTokens builds the use case.
func NewRevokeClientTokens(clients ClientFinder, store ClientRevocationStore, events EventPublisher, clock Clock) *RevokeClientTokens {
	return &RevokeClientTokens{clients: clients, store: store, events: events, clock: clock}
}

// AuditTo records every revocation on a (AuditClientTokensRevoked).
func (h *RevokeClientTokens) AuditTo(a Auditor) { h.audit = a }

// Handle revokes the tokens of the client id and returns the revocation
// time; an unknown client gives domain.ErrNotFound.
func (h *RevokeClientTokens) Handle(ctx context.Context, id string) (time.Time, error) {
	if _, err := h.clients.FindClient(ctx, id); err != nil {
		return time.Time{}, err
	}
	return h.revoke(ctx, id)
}

// revoke records and announces the revocation, whether or not the client
// is still registered.
func (h *RevokeClientTokens) revoke(ctx context.Context, id string) (time.Time, error) {
	// Whole seconds: a JWT's iat has no finer grain (domain.RevokesIssuedAt).
	now := h.clock.Now().UTC().Truncate(time.Second)
	if err := h.store.RevokeClientTokens(ctx, id, now); err != nil {
		return time.Time{}, fmt.Errorf("record revocation: %w", err)
	}
	// Best effort: a node that misses the message reloads the revocations
	// from storage (every client-cache-ttl) and on resubscribing.
	_ = h.events.Publish(ctx, domain.Event{Kind: domain.EventClientTokensRevoked, ClientID: id, IssuedBefore: now})
	audit(ctx, h.audit, AuditEvent{Kind: AuditClientTokensRevoked, ClientID: id, IssuedBefore: now})
	return now, nil
}
