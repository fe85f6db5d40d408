package fakes

import (
	"context"
	"slices"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// FederatedTokens is an application.FederatedTokenVerifier whose tokens
// are the keys of a map: a raw value it holds is validly signed, anything
// else is refused as josekit.FederatedTokens refuses a bad signature. Err,
// when set, is returned instead, as for keys that cannot be fetched.
type FederatedTokens struct {
	Tokens map[string]application.FederatedToken
	// Alg is the algorithm every token is taken to be signed with.
	Alg domain.Algorithm
	Err error
}

var _ application.FederatedTokenVerifier = (*FederatedTokens)(nil)

// UnverifiedIssuer implements application.FederatedTokenVerifier.
func (f *FederatedTokens) UnverifiedIssuer(raw string) (string, error) {
	t, ok := f.Tokens[raw]
	if !ok {
		return "", domain.ErrInvalidClient.With("malformed federated token")
	}
	return t.Issuer, nil
}

// VerifyFederatedToken implements application.FederatedTokenVerifier.
func (f *FederatedTokens) VerifyFederatedToken(_ context.Context, _ string, algs []domain.Algorithm, raw string) (application.FederatedToken, error) {
	if f.Err != nil {
		return application.FederatedToken{}, f.Err
	}
	t, ok := f.Tokens[raw]
	switch {
	case !ok:
		return application.FederatedToken{}, domain.ErrInvalidClient.With("federated token signature is invalid")
	case !slices.Contains(algs, f.Alg):
		return application.FederatedToken{}, domain.ErrInvalidClient.With("federated token algorithm " + string(f.Alg) + " not allowed")
	}
	return t, nil
}
