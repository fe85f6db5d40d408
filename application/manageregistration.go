package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/sigilauth/sigil/domain"
)

// RegistrationAction is what a management request does (RFC 7592 §2).
type RegistrationAction int

// The actions of the client configuration endpoint.
const (
	ReadRegistration    RegistrationAction = iota // GET, §2.1
	ReplaceRegistration                           // PUT, §2.2
	DeleteRegistration                            // DELETE, §2.3
)

// ManageRegistrationInput is one request to a client's configuration
// endpoint, authenticated by its registration access token.
type ManageRegistrationInput struct {
	ClientID string
	Token    string
	Action   RegistrationAction
	// Metadata and BodyClientID are the replacement, for
	// ReplaceRegistration: the body must name the client (§2.2).
	Metadata     ClientMetadata
	BodyClientID string
	// Unreadable is as in RegisterDynamicClientInput.
	Unreadable error
}

// ManageRegistration reads, replaces and deletes dynamically registered
// clients (RFC 7592) through the admin API's use cases (PatchClient,
// DeleteClient), so the same validation and audit trail apply.
type ManageRegistration struct {
	policy     RegistrationPolicy
	clients    ClientFinder
	store      RegistrationStore
	patch      *PatchClient
	delete     *DeleteClient
	statements SoftwareStatementVerifier
	scopes     ScopeLister
}

// NewManageRegistration builds the use case; clients must read the
// registry itself, not a cache; statements may be nil.
func NewManageRegistration(policy RegistrationPolicy, clients ClientFinder, store RegistrationStore, patch *PatchClient,
	del *DeleteClient, statements SoftwareStatementVerifier, scopes ScopeLister) *ManageRegistration {
	return &ManageRegistration{policy: policy, clients: clients, store: store, patch: patch, delete: del,
		statements: statements, scopes: scopes}
}

var errBadRegistrationToken = domain.ErrInvalidToken.With("the registration access token is invalid")

// Handle authenticates the request and does its action. A wrong token,
// and a client that is not (or no longer) registered, are both
// invalid_token (§2.1, §2.3), so the answer tells nothing of which ids
// exist. Delete answers the zero RegisteredClient.
func (h *ManageRegistration) Handle(ctx context.Context, in ManageRegistrationInput) (RegisteredClient, error) {
	reg, err := h.store.FindRegistration(ctx, in.ClientID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return RegisteredClient{}, errBadRegistrationToken
	case err != nil:
		return RegisteredClient{}, fmt.Errorf("find registration: %w", err)
	case !tokenMatches(reg.TokenHash, in.Token):
		return RegisteredClient{}, errBadRegistrationToken
	case in.Unreadable != nil:
		return RegisteredClient{}, in.Unreadable
	}
	switch in.Action {
	case DeleteRegistration:
		if err := h.delete.Handle(ctx, in.ClientID); err != nil && !errors.Is(err, domain.ErrNotFound) {
			return RegisteredClient{}, err
		}
		if err := h.store.DeleteRegistration(ctx, in.ClientID); err != nil {
			return RegisteredClient{}, fmt.Errorf("delete registration: %w", err)
		}
		return RegisteredClient{}, nil
	case ReplaceRegistration:
		return h.replace(ctx, reg, in)
	default:
		c, err := h.clients.FindClient(ctx, in.ClientID)
		if errors.Is(err, domain.ErrNotFound) {
			return RegisteredClient{}, errBadRegistrationToken
		}
		if err != nil {
			return RegisteredClient{}, fmt.Errorf("find client: %w", err)
		}
		return RegisteredClient{ClientID: c.ID, Metadata: metadataOf(c, reg), IssuedAt: reg.IssuedAt}, nil
	}
}

// replace makes the client what the request describes, whole (§2.2):
// what it leaves out takes the defaults again. The secrets stay: a
// client moving to a secret method from one without a secret must
// register anew.
func (h *ManageRegistration) replace(ctx context.Context, reg domain.ClientRegistration, in ManageRegistrationInput) (RegisteredClient, error) {
	if in.BodyClientID != in.ClientID {
		return RegisteredClient{}, domain.ErrInvalidClientMetadata.With("client_id in the body must be the client's")
	}
	m, err := resolveStatement(ctx, h.statements, in.Metadata)
	if err != nil {
		return RegisteredClient{}, err
	}
	want, err := clientFromMetadata(ctx, in.ClientID, m, h.policy, h.scopes)
	if err != nil {
		return RegisteredClient{}, err
	}
	old, err := h.clients.FindClient(ctx, in.ClientID)
	if errors.Is(err, domain.ErrNotFound) {
		return RegisteredClient{}, errBadRegistrationToken
	}
	if err != nil {
		return RegisteredClient{}, fmt.Errorf("find client: %w", err)
	}
	if usesSecret(want) && len(old.Secrets) == 0 {
		return RegisteredClient{}, domain.ErrInvalidClientMetadata.With(
			"the client has no secret to use with " + string(want.AuthMethods[0]) + ": register a new client")
	}
	saved, err := h.patch.Handle(ctx, PatchClientInput{ID: in.ClientID, Patch: ClientPatch{
		TokenFormat:   &want.TokenFormat,
		AuthMethods:   &want.AuthMethods,
		Scopes:        &want.AllowedScopes,
		DefaultScopes: &want.DefaultScopes,
		Resources:     &want.Resources,
		DPoPBound:     &want.DPoPBound,
		JWKS:          &want.JWKS,
		JWKSURI:       &want.JWKSURI,
		TLSSubject:    &want.TLSSubject,
		CertBound:     &want.CertBound,
	}})
	if err != nil {
		return RegisteredClient{}, err
	}
	if m.ClientName != reg.ClientName {
		reg.ClientName = m.ClientName
		if err := h.store.SaveRegistration(ctx, reg); err != nil {
			return RegisteredClient{}, fmt.Errorf("save registration: %w", err)
		}
	}
	out := RegisteredClient{ClientID: saved.ID, Metadata: metadataOf(saved, reg), IssuedAt: reg.IssuedAt}
	out.Metadata.SoftwareID, out.Metadata.SoftwareVersion = m.SoftwareID, m.SoftwareVersion
	return out, nil
}
