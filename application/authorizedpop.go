package application

import (
	"context"

	"github.com/sigilauth/sigil/domain"
)

// CheckDPoP makes the resource accept DPoP-bound tokens (RFC 9449 §7),
// each with a proof checked by check. Without it, a bound token is
// refused whatever scheme it comes with.
func (h *AuthorizeBearer) CheckDPoP(check *DPoPCheck) { h.dpop = check }

var (
	// §7.2: a bound token sent as a bearer token must be refused, or
	// anyone who stole it could use it without the key.
	errBoundAsBearer = domain.ErrInvalidToken.With("the token is bound to a DPoP key: send it with the DPoP scheme and a proof")
	errNotBound      = domain.ErrInvalidToken.With("the token is not bound to a DPoP key: send it with the Bearer scheme")
	errDPoPOff       = domain.ErrInvalidToken.With("DPoP-bound tokens are not accepted here")
)

// checkBinding holds t to the scheme it came with: a token bound to a key
// only with the DPoP scheme and a proof by that key for this request
// (§4.3 item 12, §7.1), a bearer token only with the Bearer scheme.
func (h *AuthorizeBearer) checkBinding(ctx context.Context, in AuthorizeBearerInput, t domain.Token) error {
	switch {
	case t.JKT == "" && !in.DPoP:
		return nil
	case t.JKT == "":
		return errNotBound
	case !in.DPoP:
		return errBoundAsBearer
	case h.dpop == nil:
		return errDPoPOff
	}
	_, err := h.dpop.Check(ctx, DPoPInput{
		Proofs: in.DPoPProofs, Method: in.Method, URL: in.URL, AccessToken: in.Token, JKT: t.JKT,
	})
	return err
}
