package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/sigilauth/sigil/domain"
)

// AcceptCertificates turns on the mutual-TLS methods (RFC 8705 §2):
// tls_client_auth, and self_signed_tls_client_auth with keys. Without it,
// a request authenticated by its certificate alone is refused.
func (a *AuthenticateClient) AcceptCertificates(keys CertificateKeys) {
	a.certKeys, a.mtls = keys, true
}

// errCertFailed is the one answer to every certificate failure.
var errCertFailed = domain.ErrInvalidClient.With("client certificate authentication failed")

// ByCertificate reports whether in authenticates with its TLS certificate
// alone (RFC 8705 §2): a certificate and a client_id, and neither a
// secret nor an assertion.
func (in ClientCredentials) ByCertificate() bool {
	return in.Certificate != nil && in.Secret == "" && in.Assertion == "" && in.AssertionType == ""
}

// byCertificate checks a client's certificate as RFC 8705 §2.1 (a PKI
// certificate naming the registered subject, chained to a configured CA)
// or §2.2 (a certificate whose key the client registered) says, whichever
// the client may use.
func (a *AuthenticateClient) byCertificate(ctx context.Context, in ClientCredentials) (domain.Client, error) {
	if !a.mtls {
		return domain.Client{}, errCertFailed.Because("mutual TLS is off")
	}
	if in.ID == "" {
		// §2: the client_id is sent, the certificate does not name it.
		return domain.Client{}, domain.ErrInvalidRequest.With("client_id is required with a client certificate")
	}
	c, err := a.clients.FindClient(ctx, in.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Client{}, errCertFailed.Because("unknown client")
	}
	if err != nil {
		return domain.Client{}, fmt.Errorf("find client: %w", err)
	}
	cert := *in.Certificate
	if c.AllowsAuthMethod(domain.AuthTLSClientAuth) && cert.ChainVerified && cert.Matches(c.TLSSubject) {
		return c, nil
	}
	if c.AllowsAuthMethod(domain.AuthSelfSignedTLSClientAuth) && a.certKeys != nil && len(cert.PublicKey) > 0 {
		ok, err := a.certKeys.HasCertificateKey(ctx, c, cert.PublicKey)
		if err != nil {
			return domain.Client{}, fmt.Errorf("client keys: %w", err)
		}
		if ok {
			return c, nil
		}
	}
	switch {
	case !c.AllowsAuthMethod(domain.AuthTLSClientAuth) && !c.AllowsAuthMethod(domain.AuthSelfSignedTLSClientAuth):
		return domain.Client{}, errCertFailed.Because("client may not use mutual TLS")
	case c.AllowsAuthMethod(domain.AuthTLSClientAuth) && !cert.ChainVerified:
		return domain.Client{}, errCertFailed.Because("certificate not issued by a trusted CA")
	}
	return domain.Client{}, errCertFailed.Because("certificate does not match the registration")
}
