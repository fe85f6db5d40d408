package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/sigilauth/sigil/domain"
)

// ApplyClientInput registers a client: created, or replaced whole, its
// secrets included. With Create, a client id that is registered already
// is refused with domain.ErrConflict instead of replaced.
type ApplyClientInput struct {
	Registration RegisterClientInput
	Create       bool
}

// ApplyClientResult is the client as stored, without secret material (see
// WithoutSecretMaterial), and whether it was new.
type ApplyClientResult struct {
	Created bool
	Client  domain.Client
}

// ApplyClient creates or replaces a client through RegisterClient (the
// validation of a clients file), records the change for the audit trail
// and tells every node to drop its cached record.
type ApplyClient struct {
	register *RegisterClient
	clients  ClientFinder
	events   EventPublisher
	audit    Auditor
}

// NewApplyClient builds the use case. clients must read the registry
// itself, not a cache of it, so that the answer is the record just saved.
func NewApplyClient(register *RegisterClient, clients ClientFinder, events EventPublisher) *ApplyClient {
	return &ApplyClient{register: register, clients: clients, events: events}
}

// AuditTo records every client created or replaced on a.
func (h *ApplyClient) AuditTo(a Auditor) { h.audit = a }

// Handle validates and stores the client. Two creations of one id at the
// same moment may both succeed, the second replacing the first: the
// registry has no insert-only write, and operators rarely race themselves.
func (h *ApplyClient) Handle(ctx context.Context, in ApplyClientInput) (ApplyClientResult, error) {
	id := in.Registration.Client.ID
	_, err := h.clients.FindClient(ctx, id)
	existed := err == nil
	switch {
	case id == "":
		// RegisterClient says so, as the clients file would.
	case err != nil && !errors.Is(err, domain.ErrNotFound):
		return ApplyClientResult{}, fmt.Errorf("find client: %w", err)
	case existed && in.Create:
		return ApplyClientResult{}, fmt.Errorf("client %s: %w", id, domain.ErrConflict)
	}
	if err := h.register.Handle(ctx, in.Registration); err != nil {
		return ApplyClientResult{}, err
	}
	saved, err := h.clients.FindClient(ctx, id)
	if err != nil {
		return ApplyClientResult{}, fmt.Errorf("read back client: %w", err)
	}
	kind := AuditClientCreated
	if existed {
		kind = AuditClientChanged
	}
	audit(ctx, h.audit, AuditEvent{Kind: kind, ClientID: id, Changed: clientFields(saved)})
	announceClient(ctx, h.events, id)
	return ApplyClientResult{Created: !existed, Client: WithoutSecretMaterial(saved)}, nil
}

// announceClient tells every node to drop its cached record of client id.
// Delivery is best effort: a node that misses it reads the record again
// within its client cache lifetime.
func announceClient(ctx context.Context, events EventPublisher, id string) {
	_ = events.Publish(ctx, domain.Event{Kind: domain.EventClientChanged, ClientID: id})
}

// WithoutSecretMaterial returns c with its secrets' hashes and sealed
// copies removed: what an operator may be shown of a client (the ids and
// expiries of its secrets).
func WithoutSecretMaterial(c domain.Client) domain.Client {
	if c.Secrets == nil {
		return c
	}
	secrets := make([]domain.ClientSecret, len(c.Secrets))
	for i, s := range c.Secrets {
		secrets[i] = domain.ClientSecret{ID: s.ID, ExpiresAt: s.ExpiresAt}
	}
	c.Secrets = secrets
	return c
}

// clientFields names the fields c sets, as a clients file names them.
func clientFields(c domain.Client) []string {
	fields := []string{"token_format", "auth_methods", "scopes", "default_scopes"}
	for name, set := range map[string]bool{
		"token_lifetime": c.TokenLifetime != 0,
		"resources":      len(c.Resources) > 0,
		"audience":       len(c.Audience) > 0,
		"introspect":     c.CanIntrospect,
		"jwks":           c.JWKS != "",
		"jwks_uri":       c.JWKSURI != "",
		"secrets":        len(c.Secrets) > 0,
		"token_exchange": c.Exchange.Enabled(),
	} {
		if set {
			fields = append(fields, name)
		}
	}
	return sortedFields(fields)
}
