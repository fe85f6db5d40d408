package fakes

import (
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/sigilauth/sigil/domain"
)

// DPoPProof is a DPoP proof in the transparent form DPoPProofs reads:
// what a use-case test builds instead of a signed JWT.
type DPoPProof struct {
	Proof domain.DPoPProof
	// BadSignature makes the "signature" fail, as a tampered proof would.
	BadSignature bool
}

// Encode renders the proof as a dotted string.
func (p DPoPProof) Encode() string {
	b, _ := json.Marshal(p)
	return "dpop." + hex.EncodeToString(b) + ".sig"
}

// DPoPProofs reads DPoPProof values as josekit.DPoPProofs reads proofs.
type DPoPProofs struct{}

// VerifyDPoPProof implements application.DPoPVerifier.
func (DPoPProofs) VerifyDPoPProof(raw string) (domain.DPoPProof, error) {
	parts := strings.Split(raw, ".")
	malformed := domain.ErrInvalidDPoPProof.With("the DPoP proof is not a well-formed JWT")
	if len(parts) != 3 || parts[0] != "dpop" {
		return domain.DPoPProof{}, malformed
	}
	b, err := hex.DecodeString(parts[1])
	var p DPoPProof
	if err != nil || json.Unmarshal(b, &p) != nil {
		return domain.DPoPProof{}, malformed
	}
	if p.BadSignature {
		return domain.DPoPProof{}, domain.ErrInvalidDPoPProof.With("the DPoP proof's signature does not verify with its jwk")
	}
	return p.Proof, nil
}
