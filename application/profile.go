package application

import (
	"context"

	"github.com/sigilauth/sigil/domain"
)

// profiledClients applies the server's profile to every client found.
type profiledClients struct {
	inner   ClientFinder
	profile domain.Profile
}

// UnderProfile returns a finder whose clients follow the server-wide
// profile p (domain.Client.UnderProfile): under FAPI 2.0, each is
// authenticated, and its tokens issued, as a FAPI 2.0 client's. With no
// profile it returns inner.
func UnderProfile(inner ClientFinder, p domain.Profile) ClientFinder {
	if p == "" {
		return inner
	}
	return profiledClients{inner: inner, profile: p}
}

// FindClient implements ClientFinder.
func (f profiledClients) FindClient(ctx context.Context, id string) (domain.Client, error) {
	c, err := f.inner.FindClient(ctx, id)
	if err != nil {
		return domain.Client{}, err
	}
	return c.UnderProfile(f.profile), nil
}

// RequireSenderConstrained makes the resource refuse tokens bound to
// neither a DPoP key nor a certificate (FAPI 2.0 §5.3.3.1: a resource
// server only accepts sender-constrained access tokens).
func (h *AuthorizeBearer) RequireSenderConstrained() { h.senderOnly = true }
