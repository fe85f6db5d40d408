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
// Under FAPI 2.0 a token bound to nothing is refused too.
func (h *AuthorizeBearer) checkCertBinding(in AuthorizeBearerInput, t domain.Token) error {
	switch {
	case h.senderOnly && t.X5T == "" && t.JKT == "":
		return domain.ErrFAPI2BearerToken
	case t.X5T == "":
		return nil
	case in.Certificate == "":
		return errNoCertificate
	case in.Certificate != t.X5T:
		return errOtherCertificate
	}
	return nil
}
