package application

import (
	"context"
	"fmt"

	"github.com/sigilauth/sigil/domain"
)

// ApplyFederatedIssuer creates or replaces a trust relationship managed
// through the admin API, checked by the rules the federation file is
// checked by, and tells every node to reload the trusted set.
type ApplyFederatedIssuer struct {
	store      FederatedIssuerStore
	federation *Federation
	events     EventPublisher
	audit      Auditor
}

// NewApplyFederatedIssuer builds the use case; federation checks the
// entry and knows the issuers of the file.
func NewApplyFederatedIssuer(store FederatedIssuerStore, federation *Federation, events EventPublisher) *ApplyFederatedIssuer {
	return &ApplyFederatedIssuer{store: store, federation: federation, events: events}
}

// AuditTo records every entry applied on a (AuditFederatedIssuerCreated
// or AuditFederatedIssuerChanged).
func (h *ApplyFederatedIssuer) AuditTo(a Auditor) { h.audit = a }

// ApplyFederatedIssuerInput is the entry to apply.
type ApplyFederatedIssuerInput struct {
	Spec FederatedIssuerSpec
}

// ApplyFederatedIssuerResult says whether the entry is new.
type ApplyFederatedIssuerResult struct {
	Created bool
	Spec    FederatedIssuerSpec
}

// Handle stores the entry. One that does not hold together is a
// *FederationEntryError; an issuer of the federation file is
// ErrFileIssuer.
func (h *ApplyFederatedIssuer) Handle(ctx context.Context, in ApplyFederatedIssuerInput) (ApplyFederatedIssuerResult, error) {
	if h.federation.FileDefines(in.Spec.Issuer) {
		return ApplyFederatedIssuerResult{}, ErrFileIssuer
	}
	if _, err := h.federation.Check(in.Spec); err != nil {
		return ApplyFederatedIssuerResult{}, err
	}
	created, err := h.store.SaveFederatedIssuer(ctx, in.Spec)
	if err != nil {
		return ApplyFederatedIssuerResult{}, fmt.Errorf("save federated issuer: %w", err)
	}
	kind := AuditFederatedIssuerChanged
	if created {
		kind = AuditFederatedIssuerCreated
	}
	audit(ctx, h.audit, AuditEvent{Kind: kind, Issuer: in.Spec.Issuer})
	announceFederation(ctx, h.events)
	return ApplyFederatedIssuerResult{Created: created, Spec: in.Spec}, nil
}

// announceFederation tells the nodes to reload the trusted issuers. A
// message lost is healed by their periodic reload, so a failure to send
// does not undo the change.
func announceFederation(ctx context.Context, events EventPublisher) {
	_ = events.Publish(ctx, domain.Event{Kind: domain.EventFederationChanged})
}
