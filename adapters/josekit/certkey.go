package josekit

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

var _ application.CertificateKeys = (*ClientAssertions)(nil)

// HasCertificateKey reports whether spki, a certificate's DER
// SubjectPublicKeyInfo, is the key of one of c's registered JWKs (its
// jwks, or its jwks_uri, fetched as for private_key_jwt): the check of
// self_signed_tls_client_auth (RFC 8705 §2.2). A key set fetched before
// the client added the key is fetched once more, within the refresh
// rate limit, as for an assertion.
func (a *ClientAssertions) HasCertificateKey(ctx context.Context, c domain.Client, spki []byte) (bool, error) {
	src, err := a.keysOf(c)
	if err != nil {
		return false, nil
	}
	has := func(s *keySet) bool {
		for _, k := range s.all {
			der, err := x509.MarshalPKIXPublicKey(k.pub)
			if err == nil && bytes.Equal(der, spki) {
				return true
			}
		}
		return false
	}
	_, err = src.keysFor(ctx, has)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, domain.ErrNotFound):
		return false, nil
	}
	return false, err
}
