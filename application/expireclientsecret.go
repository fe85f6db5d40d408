package application

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// ExpireClientSecretInput ends the validity of the secret SecretID of the
// client ClientID at At, or now when At is zero.
type ExpireClientSecretInput struct {
	ClientID string
	SecretID string
	At       time.Time
}

// ExpireClientSecret ends a client secret's validity, now or at a given
// time: the last step of replacing a secret. A secret never becomes valid
// for longer than it was: expiring one that expires earlier keeps the
// earlier time. The secret's hash is kept, so that the log can tell an
// expired secret from a wrong one.
type ExpireClientSecret struct {
	clients ClientRegistry
	clock   Clock
	events  EventPublisher
	audit   Auditor
}

// NewExpireClientSecret builds the use case over the registry itself (not
// a cache).
func NewExpireClientSecret(clients ClientRegistry, clock Clock, events EventPublisher) *ExpireClientSecret {
	return &ExpireClientSecret{clients: clients, clock: clock, events: events}
}

// AuditTo records every secret expired on a (AuditSecretExpired).
func (h *ExpireClientSecret) AuditTo(a Auditor) { h.audit = a }

// Handle sets the expiry and returns it. An unknown client or secret gives
// domain.ErrNotFound.
func (h *ExpireClientSecret) Handle(ctx context.Context, in ExpireClientSecretInput) (time.Time, error) {
	c, err := h.clients.FindClient(ctx, in.ClientID)
	if err != nil {
		return time.Time{}, err
	}
	i := slices.IndexFunc(c.Secrets, func(s domain.ClientSecret) bool { return s.ID == in.SecretID })
	if i < 0 {
		return time.Time{}, fmt.Errorf("secret %s of client %s: %w", in.SecretID, c.ID, domain.ErrNotFound)
	}
	at := in.At
	if at.IsZero() {
		at = h.clock.Now()
	}
	at = at.UTC().Truncate(time.Microsecond) // as the registry keeps it
	c.Secrets = slices.Clone(c.Secrets)
	s := &c.Secrets[i]
	if !s.ExpiresAt.IsZero() && s.ExpiresAt.Before(at) {
		return s.ExpiresAt, nil
	}
	s.ExpiresAt = at
	if err := h.clients.SaveClient(ctx, c); err != nil {
		return time.Time{}, fmt.Errorf("save client: %w", err)
	}
	audit(ctx, h.audit, AuditEvent{Kind: AuditSecretExpired, ClientID: c.ID, SecretID: s.ID, ExpiresAt: at})
	announceClient(ctx, h.events, c.ID)
	return at, nil
}
