package josekit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// maxTokenBytes bounds the token we are willing to parse. A Sigil access
// token is under 1 KiB; anything near this size is an attack.
const maxTokenBytes = 32 << 10

// VerifierOptions configure a Verifier.
type VerifierOptions struct {
	// Issuer is the iss every token must carry, compared exactly.
	Issuer string
	// Leeway tolerates clock skew when checking exp and nbf.
	Leeway time.Duration
	// Clock defaults to the system clock.
	Clock application.Clock
	// Algorithms is the allow-list of JWS algorithms; [RS256] if empty.
	// "none" and HMAC algorithms are refused.
	Algorithms []domain.Algorithm
}

// Validate reports a configuration NewVerifier would refuse: no issuer, a
// negative leeway, or an algorithm outside the asymmetric ones Sigil
// knows, "none" and HS256 among them.
func (o VerifierOptions) Validate() error {
	if o.Issuer == "" {
		return errors.New("verifier needs an issuer")
	}
	if o.Leeway < 0 {
		return errors.New("verifier leeway is negative")
	}
	for _, a := range o.Algorithms {
		if _, ok := algorithms[a]; !ok {
			// Above all "none" (RFC 8725 §3.1) and HS* (RFC 8725 §2.1: a
			// public key must never be usable as an HMAC secret).
			return fmt.Errorf("algorithm %q may not verify access tokens", a)
		}
	}
	return nil
}

// Verifier checks RFC 9068 JWT access tokens (§4) against keys found by kid.
type Verifier struct {
	keys    application.VerificationKeys
	issuer  string
	leeway  time.Duration
	clock   application.Clock
	allowed []jose.SignatureAlgorithm
}

var _ application.AccessTokenVerifier = (*Verifier)(nil)

// NewVerifier returns a Verifier. It panics if opts.Validate fails: a
// verifier that could accept "none" or an HMAC must never be built.
func NewVerifier(keys application.VerificationKeys, opts VerifierOptions) *Verifier {
	if err := opts.Validate(); err != nil {
		panic("josekit: " + err.Error())
	}
	algs := opts.Algorithms
	if len(algs) == 0 {
		algs = []domain.Algorithm{domain.RS256}
	}
	allowed := make([]jose.SignatureAlgorithm, len(algs))
	for i, a := range algs {
		allowed[i] = algorithms[a].jose
	}
	clock := opts.Clock
	if clock == nil {
		clock = application.SystemClock{}
	}
	return &Verifier{keys: keys, issuer: opts.Issuer, leeway: opts.Leeway, clock: clock, allowed: allowed}
}

func invalid(reason string) error { return domain.ErrInvalidToken.With(reason) }

// VerifyAccessToken validates raw as RFC 9068 §4 describes and returns the
// token it stands for. Whatever is wrong with the token is invalid_token
// with a short reason; library errors never reach the caller.
func (v *Verifier) VerifyAccessToken(ctx context.Context, raw string) (domain.Token, error) {
	if raw == "" {
		return domain.Token{}, invalid("token is empty")
	}
	if len(raw) > maxTokenBytes {
		return domain.Token{}, invalid("token is too large")
	}
	if !canonicalCompact(raw) {
		return domain.Token{}, invalid("malformed token")
	}
	// The allow-list is enforced while parsing, before any key is touched.
	jws, err := jose.ParseSignedCompact(raw, v.allowed)
	if err != nil {
		var unexpected *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &unexpected) {
			return domain.Token{}, invalid("signing algorithm not allowed")
		}
		return domain.Token{}, invalid("malformed token")
	}
	if len(jws.Signatures) != 1 {
		return domain.Token{}, invalid("malformed token")
	}
	header := jws.Signatures[0].Protected

	// RFC 9068 §4: the typ header must be "at+jwt" or "application/at+jwt",
	// which keeps an ID token or any other JWT from passing as an access
	// token. Media types compare case-insensitively (RFC 2045 §5.1).
	typ, _ := header.ExtraHeaders[jose.HeaderType].(string)
	if !strings.EqualFold(typ, accessTokenType) && !strings.EqualFold(typ, "application/"+accessTokenType) {
		return domain.Token{}, invalid("token is not a JWT access token")
	}
	if header.KeyID == "" {
		return domain.Token{}, invalid("token has no kid")
	}

	pub, keyAlg, err := v.keys.VerificationKey(ctx, header.KeyID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return domain.Token{}, invalid("unknown signing key")
	case err != nil:
		return domain.Token{}, fmt.Errorf("find verification key: %w", err)
	}
	// The key decides the algorithm, not the token (RFC 8725 §3.1).
	if domain.Algorithm(header.Algorithm) != keyAlg {
		return domain.Token{}, invalid("token algorithm does not match its key")
	}
	if !fits(keyAlg, pub) {
		// Our key source handed out a key unfit for its own algorithm: a
		// configuration fault, not the token's.
		return domain.Token{}, fmt.Errorf("verification key %s does not fit algorithm %q", header.KeyID, keyAlg)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return domain.Token{}, invalid("bad signature")
	}

	var c accessTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return domain.Token{}, invalid("malformed claims")
	}
	if c.Issuer != v.issuer {
		return domain.Token{}, invalid("wrong issuer")
	}
	if c.ExpiresAt == 0 {
		return domain.Token{}, invalid("token has no exp")
	}
	now := v.clock.Now()
	exp, nbf := c.ExpiresAt.Time(), c.NotBefore.Time()
	if !now.Add(-v.leeway).Before(exp) {
		return domain.Token{}, invalid("token has expired")
	}
	if !nbf.IsZero() && now.Add(v.leeway).Before(nbf) {
		return domain.Token{}, invalid("token is not yet valid")
	}
	scopes, err := domain.ParseScopes(string(c.Scope))
	if err != nil {
		return domain.Token{}, invalid("malformed scope claim")
	}
	act, err := c.Act.ToDomain()
	if err != nil {
		return domain.Token{}, invalid("malformed act claim")
	}
	return domain.Token{
		Value:     raw,
		Format:    domain.FormatJWT,
		ID:        c.ID,
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		ClientID:  c.ClientID,
		Scopes:    scopes,
		Audience:  []string(c.Audience),
		IssuedAt:  c.IssuedAt.Time(),
		NotBefore: nbf,
		ExpiresAt: exp,
		KeyID:     header.KeyID,
		JKT:       c.Cnf.Thumbprint(),
		X5T:       c.Cnf.CertificateThumbprint(),
		Actor:     act,
	}, nil
}
