package application

import (
	"context"
	"fmt"
	"slices"

	"github.com/sigilauth/sigil/domain"
)

// ServerMetadata is the authorization server's metadata (RFC 8414 §2).
// Fields hold only what the server really implements.
type ServerMetadata struct {
	Issuer                string
	TokenEndpoint         string
	JWKSURI               string
	IntrospectionEndpoint string
	RevocationEndpoint    string
	GrantTypes            []string
	// AuthMethods serve the token, introspection and revocation endpoints
	// alike, as the same client authentication guards all three.
	AuthMethods []string
	// AuthSigningAlgs are the algorithms accepted on client assertions.
	AuthSigningAlgs []string
	// IntrospectionSigningAlgs sign RFC 9701 introspection answers.
	IntrospectionSigningAlgs []string
	Scopes                   []string
	// DPoPSigningAlgs are the algorithms accepted on DPoP proofs (RFC
	// 9449 §5.1).
	DPoPSigningAlgs []string
	// CertBoundTokens says that tokens can be bound to TLS client
	// certificates (RFC 8705 §3.3).
	CertBoundTokens bool
	// RegistrationEndpoint is RFC 7591 §3's, when registration is on.
	RegistrationEndpoint string
}

// PublishMetadata serves the server metadata: the static part fixed at
// start from the same configuration that builds the endpoints, and the
// scopes and signing algorithms as they are now.
type PublishMetadata struct {
	traced
	static     ServerMetadata
	scopes     ScopeLister
	keys       *KeyRing
	federation *Federation
}

// Federate advertises the JWT bearer grant (RFC 7523 §2.1) while f
// trusts an issuer: the trusted set changes as the admin API changes it.
func (h *PublishMetadata) Federate(f *Federation) { h.federation = f }

// NewPublishMetadata builds the use case around the static metadata.
func NewPublishMetadata(static ServerMetadata, scopes ScopeLister, keys *KeyRing) *PublishMetadata {
	return &PublishMetadata{static: static, scopes: scopes, keys: keys}
}

// Handle returns the metadata.
func (h *PublishMetadata) Handle(ctx context.Context) (_ ServerMetadata, err error) {
	ctx, end := h.span(ctx, "PublishMetadata")
	defer func() { end(err) }()

	m := h.static
	if h.federation.Enabled() {
		// Before token exchange, as the other grants that authenticate by
		// a token.
		at := slices.Index(m.GrantTypes, string(domain.GrantTokenExchange))
		if at < 0 {
			at = len(m.GrantTypes)
		}
		m.GrantTypes = slices.Insert(slices.Clone(m.GrantTypes), at, GrantTypeJWTBearer)
	}
	scopes, err := h.scopes.ListScopes(ctx)
	if err != nil {
		return ServerMetadata{}, fmt.Errorf("list scopes: %w", err)
	}
	m.Scopes = scopes
	m.IntrospectionSigningAlgs = nil
	if k, ok := h.keys.Active(); ok {
		m.IntrospectionSigningAlgs = []string{string(k.Algorithm)}
	}
	return m, nil
}
