package fakes

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sync"

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

// Trusting implements application.FederatedTokenVerifier: the fake knows
// its tokens whatever the issuers' keys, but refuses an inline JWKS that
// is not JSON, as josekit refuses one it cannot parse.
func (f *FederatedTokens) Trusting(keys []application.FederatedKeySource) (application.FederatedTokenVerifier, error) {
	for _, k := range keys {
		if len(k.JWKS) > 0 && !json.Valid(k.JWKS) {
			return nil, errors.New("issuer " + k.Issuer + ": jwks is not JSON")
		}
	}
	return f, nil
}

// FederatedIssuers is an in-memory application.FederatedIssuerStore.
type FederatedIssuers struct {
	mu sync.Mutex
	m  map[string]application.FederatedIssuerSpec
}

var _ application.FederatedIssuerStore = (*FederatedIssuers)(nil)

// NewFederatedIssuers returns an empty store.
func NewFederatedIssuers() *FederatedIssuers {
	return &FederatedIssuers{m: map[string]application.FederatedIssuerSpec{}}
}

// SaveFederatedIssuer implements application.FederatedIssuerStore.
func (s *FederatedIssuers) SaveFederatedIssuer(_ context.Context, spec application.FederatedIssuerSpec) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, had := s.m[spec.Issuer]
	s.m[spec.Issuer] = cloneSpec(spec)
	return !had, nil
}

// DeleteFederatedIssuer implements application.FederatedIssuerStore.
func (s *FederatedIssuers) DeleteFederatedIssuer(_ context.Context, iss string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[iss]; !ok {
		return domain.ErrNotFound
	}
	delete(s.m, iss)
	return nil
}

// ListFederatedIssuers implements application.FederatedIssuerStore.
func (s *FederatedIssuers) ListFederatedIssuers(context.Context) ([]application.FederatedIssuerSpec, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]application.FederatedIssuerSpec, 0, len(s.m))
	for _, iss := range slices.Sorted(maps.Keys(s.m)) {
		out = append(out, cloneSpec(s.m[iss]))
	}
	return out, nil
}

// cloneSpec copies what a caller could change behind the store's back.
func cloneSpec(s application.FederatedIssuerSpec) application.FederatedIssuerSpec {
	s.Audiences, s.Algorithms, s.SubjectTokenScopes = slices.Clone(s.Audiences), slices.Clone(s.Algorithms), slices.Clone(s.SubjectTokenScopes)
	s.Clients = slices.Clone(s.Clients)
	for i, m := range s.Clients {
		s.Clients[i].Claims = maps.Clone(m.Claims)
	}
	return s
}
