package application

import "context"

// DeleteFederatedIssuer removes a trust relationship managed through the
// admin API and tells every node to reload the trusted set: the issuer's
// tokens are refused from then on.
type DeleteFederatedIssuer struct {
	store      FederatedIssuerStore
	federation *Federation
	events     EventPublisher
	audit      Auditor
}

// NewDeleteFederatedIssuer builds the use case.
func NewDeleteFederatedIssuer(store FederatedIssuerStore, federation *Federation, events EventPublisher) *DeleteFederatedIssuer {
	return &DeleteFederatedIssuer{store: store, federation: federation, events: events}
}

// AuditTo records every entry deleted on a (AuditFederatedIssuerDeleted).
func (h *DeleteFederatedIssuer) AuditTo(a Auditor) { h.audit = a }

// Handle deletes the entry of iss: an issuer of the federation file is
// ErrFileIssuer, an unknown one domain.ErrNotFound.
func (h *DeleteFederatedIssuer) Handle(ctx context.Context, iss string) error {
	if h.federation.FileDefines(iss) {
		return ErrFileIssuer
	}
	if err := h.store.DeleteFederatedIssuer(ctx, iss); err != nil {
		return err
	}
	audit(ctx, h.audit, AuditEvent{Kind: AuditFederatedIssuerDeleted, Issuer: iss})
	announceFederation(ctx, h.events)
	return nil
}
