package application

import (
	"context"

	"github.com/sigilauth/sigil/domain"
)

// tokenDPoP is the token endpoint's part of DPoP (RFC 9449 §5): the check
// of proofs, and the URL they must be made for.
type tokenDPoP struct {
	check *DPoPCheck
	url   string
}

// BindDPoP makes the token endpoint accept DPoP proofs made for url (its
// own URL, as clients find it in the metadata) and bind the tokens it
// issues with one to the proof's key. Without it, proofs are ignored and
// clients registered with dpop_bound_access_tokens get no token.
func (h *IssueToken) BindDPoP(check *DPoPCheck, url string) {
	h.dpop = &tokenDPoP{check: check, url: url}
}

var errDPoPRequired = domain.ErrInvalidDPoPProof.With("this client must send a DPoP proof")

// dpopKey returns the thumbprint of the key the token must be bound to:
// the proof's, or none for a request without a DPoP header. A client
// registered with dpop_bound_access_tokens must send one (§5.2).
// RFC 9449 names no error code for the missing header; invalid_dpop_proof
// is the code a DPoP client already reads as "the proof is the problem".
// nonce is the DPoP-Nonce to send with the answer (DPoPCheck.NextNonce).
func (h *IssueToken) dpopKey(ctx context.Context, client domain.Client, in IssueTokenInput) (jkt, nonce string, err error) {
	if len(in.DPoPProofs) == 0 || h.dpop == nil {
		if client.DPoPBound {
			return "", "", errDPoPRequired
		}
		return "", "", nil
	}
	p, err := h.dpop.check.Check(ctx, DPoPInput{Proofs: in.DPoPProofs, Method: in.Method, URL: h.dpop.url})
	if err != nil {
		return "", "", err
	}
	if client.FAPI2() && !domain.FAPI2Algorithm(p.Algorithm) {
		return "", "", domain.ErrFAPI2ProofAlgorithm
	}
	return p.JKT, h.dpop.check.NextNonce(p), nil
}
