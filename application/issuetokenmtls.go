package application

import "github.com/sigilauth/sigil/domain"

// errCertRequired refuses a token request of a client registered with
// tls_client_certificate_bound_access_tokens that came without a
// certificate: a bearer token is what the client asked never to get.
var errCertRequired = domain.ErrInvalidRequest.With("this client's tokens are bound to its TLS client certificate: present one")

// certBinding returns the x5t#S256 the token must be bound to (RFC 8705
// §3): the certificate's, for a client that authenticated with it or that
// registered tls_client_certificate_bound_access_tokens (§3.4); none
// otherwise, even when a certificate was presented. A token may be bound
// to a DPoP key as well (cnf then has both members, each checked). A
// FAPI 2.0 client's token must be bound to one or the other (jkt is the
// DPoP binding already decided).
func certBinding(client domain.Client, in ClientCredentials, jkt string) (string, error) {
	switch {
	case client.FAPI2() && jkt == "" && !in.ByCertificate() && (!client.CertBound || in.Certificate == nil):
		return "", domain.ErrFAPI2SenderConstrained
	case in.ByCertificate():
		return in.Certificate.Thumbprint, nil
	case !client.CertBound:
		return "", nil
	case in.Certificate == nil:
		return "", errCertRequired
	}
	return in.Certificate.Thumbprint, nil
}
