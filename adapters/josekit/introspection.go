package josekit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// introspectionType is the typ header of an RFC 9701 introspection
// response (§5), its media type without "application/".
const introspectionType = "token-introspection+jwt"

// IntrospectionSigner signs introspection answers as RFC 9701 JWTs.
type IntrospectionSigner struct {
	signers *signerCache
}

var _ application.IntrospectionSigner = (*IntrospectionSigner)(nil)

// NewIntrospectionSigner returns an IntrospectionSigner.
func NewIntrospectionSigner() *IntrospectionSigner {
	return &IntrospectionSigner{signers: newSignerCache(introspectionType, false)}
}

// SignIntrospection signs r with key (RFC 9701 §5): header alg, kid and
// typ "token-introspection+jwt"; claims iss, aud (the client that asked),
// iat and token_introspection, the answer the plain endpoint sends
// (claims.Introspection): for an inactive token exactly {"active":false}.
func (s *IntrospectionSigner) SignIntrospection(_ context.Context, key domain.SigningKey, r application.SignedIntrospection) (string, error) {
	if r.Issuer == "" || r.Audience == "" || r.IssuedAt.IsZero() {
		return "", errors.New("introspection response needs iss, aud and iat")
	}
	c := introspectionJWTClaims{
		Issuer:             r.Issuer,
		Audience:           r.Audience,
		IssuedAt:           claims.NewNumericDate(r.IssuedAt),
		TokenIntrospection: claims.NewIntrospection(r.Result),
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("marshal introspection claims: %w", err)
	}
	raw, err := s.signers.sign(key, payload)
	if err != nil {
		return "", fmt.Errorf("sign introspection response: %w", err)
	}
	return raw, nil
}
