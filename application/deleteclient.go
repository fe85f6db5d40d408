package application

import (
	"context"
	"fmt"
)

// DeleteClient removes a client and revokes every token it holds: JWTs
// are verified without asking the registry, so without the revocation a
// deleted client's tokens would be accepted until they expired.
type DeleteClient struct {
	clients ClientDeleter
	revoke  *RevokeClientTokens
	events  EventPublisher
	audit   Auditor
}

// NewDeleteClient builds the use case.
func NewDeleteClient(clients ClientDeleter, revoke *RevokeClientTokens, events EventPublisher) *DeleteClient {
	return &DeleteClient{clients: clients, revoke: revoke, events: events}
}

// AuditTo records every client deleted on a (AuditClientDeleted, then
// the AuditClientTokensRevoked of its tokens).
func (h *DeleteClient) AuditTo(a Auditor) { h.audit = a }

// Handle deletes the client id; an unknown client gives domain.ErrNotFound.
func (h *DeleteClient) Handle(ctx context.Context, id string) error {
	if err := h.clients.DeleteClient(ctx, id); err != nil {
		return err
	}
	audit(ctx, h.audit, AuditEvent{Kind: AuditClientDeleted, ClientID: id})
	announceClient(ctx, h.events, id)
	if _, err := h.revoke.revoke(ctx, id); err != nil {
		return fmt.Errorf("client %s deleted, but its tokens were not revoked: %w", id, err)
	}
	return nil
}
