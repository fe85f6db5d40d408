package application

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// generatedSecretBytes is the entropy of a secret the server makes: 256
// bits, enough for client_secret_jwt with HS256 (RFC 7518 §3.2).
const generatedSecretBytes = 32

// AddClientSecretInput adds Secret to the client ClientID. An empty
// Secret.Secret asks the server to make a strong one; an empty Secret.ID
// asks for an id.
type AddClientSecretInput struct {
	ClientID string
	Secret   SecretSpec
}

// AddedSecret is the secret added. Secret is set only when the server made
// it: the one time it is shown, since only its hash is kept.
type AddedSecret struct {
	ID        string
	Secret    string
	ExpiresAt time.Time
}

// AddClientSecret adds a secret to a client beside those it holds, so
// that callers can move to it before the old one is expired.
type AddClientSecret struct {
	clients  ClientRegistry
	register *RegisterClient
	random   io.Reader
	events   EventPublisher
	audit    Auditor
}

// NewAddClientSecret builds the use case over the registry itself (not a
// cache); register hashes and seals the secret as a registration does.
func NewAddClientSecret(clients ClientRegistry, register *RegisterClient, random io.Reader, events EventPublisher) *AddClientSecret {
	return &AddClientSecret{clients: clients, register: register, random: random, events: events}
}

// AuditTo records every secret added on a (AuditSecretAdded).
func (h *AddClientSecret) AuditTo(a Auditor) { h.audit = a }

// Handle adds the secret. An unknown client gives domain.ErrNotFound, a
// secret id the client holds already domain.ErrConflict.
func (h *AddClientSecret) Handle(ctx context.Context, in AddClientSecretInput) (AddedSecret, error) {
	c, err := h.clients.FindClient(ctx, in.ClientID)
	if err != nil {
		return AddedSecret{}, err
	}
	spec := in.Secret
	if spec.ID == "" {
		if spec.ID, err = newSecretID(h.random); err != nil {
			return AddedSecret{}, err
		}
	}
	if slices.ContainsFunc(c.Secrets, func(s domain.ClientSecret) bool { return s.ID == spec.ID }) {
		return AddedSecret{}, fmt.Errorf("secret %s of client %s: %w", spec.ID, c.ID, domain.ErrConflict)
	}
	added := AddedSecret{ID: spec.ID, ExpiresAt: spec.ExpiresAt}
	if spec.Secret == "" {
		var b [generatedSecretBytes]byte
		if _, err := io.ReadFull(h.random, b[:]); err != nil {
			return AddedSecret{}, fmt.Errorf("read randomness: %w", err)
		}
		spec.Secret = base64.RawURLEncoding.EncodeToString(b[:])
		added.Secret = spec.Secret
	}
	cs, err := h.register.secret(c, spec)
	if err != nil {
		return AddedSecret{}, err
	}
	c.Secrets = append(slices.Clone(c.Secrets), cs)
	if err := h.clients.SaveClient(ctx, c); err != nil {
		return AddedSecret{}, fmt.Errorf("save client: %w", err)
	}
	audit(ctx, h.audit, AuditEvent{Kind: AuditSecretAdded, ClientID: c.ID, SecretID: spec.ID, ExpiresAt: spec.ExpiresAt})
	announceClient(ctx, h.events, c.ID)
	return added, nil
}

// newSecretID draws an id for a secret the operator did not name.
func newSecretID(r io.Reader) (string, error) {
	var b [6]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	return "s-" + hex.EncodeToString(b[:]), nil
}
