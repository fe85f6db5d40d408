package application

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// DefaultDPoPWindow is how far a proof's iat may lie from the server's
// clock when the configuration says nothing.
const DefaultDPoPWindow = time.Minute

// DPoPCheck is the whole check of a DPoP proof (RFC 9449 §4.3), shared by
// the token endpoint and the protected resource: the verifier reads the
// proof, domain.DPoPProof.Check judges it against the request, the nonce
// source (when nonces are on) judges its nonce, and the replay guard,
// last, makes its jti single-use.
type DPoPCheck struct {
	verifier DPoPVerifier
	replays  ReplayGuard
	clock    Clock
	window   time.Duration
	nonces   *DPoPNonces
}

// NewDPoPCheck builds the check. window bounds iat both ways (0 means
// DefaultDPoPWindow); replays must be shared by every node that accepts
// proofs for the same URLs, or a proof could be replayed on another node.
func NewDPoPCheck(verifier DPoPVerifier, replays ReplayGuard, clock Clock, window time.Duration) *DPoPCheck {
	if window <= 0 {
		window = DefaultDPoPWindow
	}
	return &DPoPCheck{verifier: verifier, replays: replays, clock: clock, window: window}
}

// RequireNonces makes every proof carry a nonce from n (§8, §9).
func (c *DPoPCheck) RequireNonces(n *DPoPNonces) { c.nonces = n }

// DPoPInput is a request that carried DPoP proofs.
type DPoPInput struct {
	// Proofs are the values of every DPoP header field the request had:
	// exactly one is allowed (§4.3 item 1).
	Proofs []string
	// Method and URL are the request's; URL without query or fragment.
	Method string
	URL    string
	// AccessToken is the token the proof goes with at a protected
	// resource, and JKT the thumbprint the token is bound to; both empty
	// at the token endpoint.
	AccessToken string
	JKT         string
}

var (
	errNoProof     = domain.ErrInvalidDPoPProof.With("a DPoP proof is required")
	errManyProofs  = domain.ErrInvalidDPoPProof.With("more than one DPoP header")
	errProofReused = domain.ErrInvalidDPoPProof.With("the DPoP proof was already used")
)

// Check verifies the request's proof and returns it. A refused proof is
// invalid_dpop_proof (or invalid_token for a key that is not the
// token's, or use_dpop_nonce, carrying a fresh nonce); any other error is
// the replay guard's.
func (c *DPoPCheck) Check(ctx context.Context, in DPoPInput) (domain.DPoPProof, error) {
	switch len(in.Proofs) {
	case 0:
		return domain.DPoPProof{}, errNoProof
	case 1:
	default:
		return domain.DPoPProof{}, errManyProofs
	}
	p, err := c.verifier.VerifyDPoPProof(in.Proofs[0])
	if err != nil {
		return domain.DPoPProof{}, c.withNonce(err)
	}
	now := c.clock.Now()
	req := domain.DPoPRequest{Method: in.Method, URL: in.URL, Now: now, Window: c.window, JKT: in.JKT}
	if in.AccessToken != "" {
		req.AccessTokenHash = AccessTokenHash(in.AccessToken)
	}
	if err := p.Check(req); err != nil {
		return domain.DPoPProof{}, c.withNonce(err)
	}
	if c.nonces != nil && !c.nonces.Valid(p.Nonce, now) {
		e := domain.ErrUseDPoPNonce.With("the DPoP proof must carry the server's nonce")
		e.Nonce = c.nonces.Current(now)
		return domain.DPoPProof{}, e
	}
	// Last, so that only a proof good in every other respect takes a
	// place in the guard. The key is part of the id: one client's jti
	// cannot use up another's. The id is kept as long as the proof's iat
	// is acceptable; after that the proof is refused as stale anyway.
	first, err := c.replays.FirstUse(ctx, "dpop "+p.JKT+" "+p.ID, p.IssuedAt.Add(c.window+time.Second))
	if err != nil {
		return domain.DPoPProof{}, fmt.Errorf("record dpop proof id: %w", err)
	}
	if !first {
		return domain.DPoPProof{}, c.withNonce(errProofReused)
	}
	return p, nil
}

// NextNonce is the nonce to send with a successful answer to a request
// that carried p (RFC 9449 §8.2): the current one when nonces are on and
// p's is from the step before, so the client moves on before its nonce
// runs out; empty otherwise.
func (c *DPoPCheck) NextNonce(p domain.DPoPProof) string {
	if c.nonces == nil {
		return ""
	}
	if cur := c.nonces.Current(c.clock.Now()); cur != p.Nonce {
		return cur
	}
	return ""
}

// withNonce gives a refused proof the current nonce when nonces are on,
// so that the client's next proof can carry it (§8.2: a server may send
// a fresh nonce with any answer).
func (c *DPoPCheck) withNonce(err error) error {
	var e *domain.Error
	if c.nonces == nil || !errors.As(err, &e) {
		return err
	}
	cp := *e
	cp.Nonce = c.nonces.Current(c.clock.Now())
	return &cp
}

// AccessTokenHash is the ath of a proof for token (RFC 9449 §4.2):
// base64url, without padding, of the SHA-256 of its ASCII bytes.
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
