package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/sigilauth/sigil/domain"
)

// ClientCredentials are what a client presented to authenticate itself.
type ClientCredentials struct {
	ID     string
	Secret string
	Method domain.AuthMethod
}

// errAuthFailed is the one answer to every authentication failure, so the
// response does not tell an unknown client from a wrong secret.
var errAuthFailed = domain.ErrInvalidClient.With("client authentication failed")

// AuthenticateClient checks client credentials (RFC 6749 §2.3).
type AuthenticateClient struct {
	clients ClientFinder
	hasher  SecretHasher
	// dummyHash is verified against when the client is unknown, so that
	// the answer takes as long as for a known client with a wrong secret.
	dummyHash string
}

// NewAuthenticateClient builds the use case; it hashes one throwaway secret.
func NewAuthenticateClient(clients ClientFinder, hasher SecretHasher) (*AuthenticateClient, error) {
	dummy, err := hasher.HashSecret("sigil-timing-equaliser")
	if err != nil {
		return nil, fmt.Errorf("hash dummy secret: %w", err)
	}
	return &AuthenticateClient{clients: clients, hasher: hasher, dummyHash: dummy}, nil
}

// Handle returns the authenticated client or an invalid_client error.
func (a *AuthenticateClient) Handle(ctx context.Context, in ClientCredentials) (domain.Client, error) {
	if in.ID == "" || in.Secret == "" {
		return domain.Client{}, errAuthFailed
	}
	c, err := a.clients.FindClient(ctx, in.ID)
	if errors.Is(err, domain.ErrNotFound) {
		_, _ = a.hasher.VerifySecret(a.dummyHash, in.Secret)
		return domain.Client{}, errAuthFailed
	}
	if err != nil {
		return domain.Client{}, fmt.Errorf("find client: %w", err)
	}
	ok, err := a.hasher.VerifySecret(c.SecretHash, in.Secret)
	if err != nil {
		return domain.Client{}, fmt.Errorf("verify secret of client %q: %w", c.ID, err)
	}
	if !ok {
		return domain.Client{}, errAuthFailed
	}
	if !c.AllowsAuthMethod(in.Method) {
		return domain.Client{}, domain.ErrInvalidClient.With("client may not authenticate with " + string(in.Method))
	}
	return c, nil
}
