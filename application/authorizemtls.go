package application

import "github.com/sigilauth/sigil/domain"

var (
	errNoCertificate    = domain.ErrInvalidToken.With("the token is bound to a TLS client certificate: present it")
	errOtherCertificate = domain.ErrInvalidToken.With("the token is bound to another TLS client certificate")
)

// checkCertBinding holds a certificate-bound token to the certificate
// whose thumbprint its cnf carries (RFC 8705 §3): the request must come
// with that very certificate, or the token is refused as invalid_token
// (§3: "reject the request"; RFC 6750 §3.1 for the code).
func checkCertBinding(in AuthorizeBearerInput, t domain.Token) error {
	switch {
	case t.X5T == "":
		return nil
	case in.Certificate == "":
		return errNoCertificate
	case in.Certificate != t.X5T:
		return errOtherCertificate
	}
	return nil
}
