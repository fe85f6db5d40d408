package fakes

import (
	"bytes"
	"context"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

var _ application.CertificateKeys = CertificateKeys{}

// CertificateKeys holds each client's registered public keys (DER
// SubjectPublicKeyInfo), as a client's JWKS would.
type CertificateKeys map[string][][]byte

// HasCertificateKey implements application.CertificateKeys.
func (k CertificateKeys) HasCertificateKey(_ context.Context, c domain.Client, spki []byte) (bool, error) {
	for _, key := range k[c.ID] {
		if bytes.Equal(key, spki) {
			return true, nil
		}
	}
	return false, nil
}
