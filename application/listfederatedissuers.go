package application

import (
	"context"
	"fmt"

	"github.com/sigilauth/sigil/domain"
)

// ListFederatedIssuers reads the trust relationships managed through the
// admin API, as they were written. Those of the federation file are in
// the file.
type ListFederatedIssuers struct {
	store FederatedIssuerStore
}

// NewListFederatedIssuers builds the use case.
func NewListFederatedIssuers(store FederatedIssuerStore) *ListFederatedIssuers {
	return &ListFederatedIssuers{store: store}
}

// ListFederatedIssuersInput picks one issuer, or all when Issuer is empty.
type ListFederatedIssuersInput struct {
	Issuer string
}

// Handle returns the entries, ordered by issuer; the one asked for, or
// domain.ErrNotFound.
func (h *ListFederatedIssuers) Handle(ctx context.Context, in ListFederatedIssuersInput) ([]FederatedIssuerSpec, error) {
	list, err := h.store.ListFederatedIssuers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list federated issuers: %w", err)
	}
	if in.Issuer == "" {
		return list, nil
	}
	for _, s := range list {
		if s.Issuer == in.Issuer {
			return []FederatedIssuerSpec{s}, nil
		}
	}
	return nil, domain.ErrNotFound
}
