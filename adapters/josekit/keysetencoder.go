package josekit

import (
	"encoding/json"
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// KeySetEncoder writes the authorization server's published key set: the
// JWK Set document (RFC 7517 §5) served at the jwks endpoint. Its reader,
// for a resource server or a client's jwks_uri, is RemoteKeySet.
type KeySetEncoder struct{}

var _ application.JWKSEncoder = (*KeySetEncoder)(nil)

// NewKeySetEncoder returns a KeySetEncoder.
func NewKeySetEncoder() *KeySetEncoder { return &KeySetEncoder{} }

// keySetDocument is the JWK Set document as published.
type keySetDocument struct {
	Keys []jose.JSONWebKey `json:"keys"`
}

// EncodeJWKS returns {"keys":[...]} with the public half of each key
// (RFC 7517 §5), each with kid, use "sig" and alg (RFC 7517 §4.2-4.5):
// for RSA exactly kty, kid, use, alg, n and e.
func (*KeySetEncoder) EncodeJWKS(keys []domain.SigningKey) ([]byte, error) {
	doc := keySetDocument{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		if k.Private == nil {
			return nil, fmt.Errorf("signing key %s has no key material", k.ID)
		}
		// Only ever the public half: go-jose would happily serialise d, p
		// and q if handed the private key.
		pub := k.Public()
		if !fits(k.Algorithm, pub) {
			return nil, fmt.Errorf("signing key %s does not fit algorithm %q", k.ID, k.Algorithm)
		}
		jwk := jose.JSONWebKey{Key: pub, KeyID: k.ID, Algorithm: string(k.Algorithm), Use: "sig"}
		if !jwk.IsPublic() {
			return nil, fmt.Errorf("signing key %s: public half is not a public key", k.ID)
		}
		doc.Keys = append(doc.Keys, jwk)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("marshal jwks: %w", err)
	}
	return b, nil
}
