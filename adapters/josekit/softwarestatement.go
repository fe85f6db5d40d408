package josekit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/adapters/internal/registrationwire"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// SoftwareStatements verifies software statements (RFC 7591 §2.3) with
// the public keys of the issuers the operator trusts: one JWK Set, read
// once, of every trusted signer.
type SoftwareStatements struct {
	keys   *keySet
	clock  application.Clock
	leeway time.Duration
}

var _ application.SoftwareStatementVerifier = (*SoftwareStatements)(nil)

// statementAlgorithms are asymmetric only: a statement is signed by a
// third party, with whom Sigil shares no secret.
var statementAlgorithms = func() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, 0, len(algorithms))
	for _, a := range algorithms {
		out = append(out, a.jose)
	}
	slices.Sort(out)
	return out
}()

// NewSoftwareStatements builds the verifier over the trusted signers' JWK
// Set; leeway is the clock skew allowed on exp, nbf and iat.
func NewSoftwareStatements(jwks []byte, clock application.Clock, leeway time.Duration) (*SoftwareStatements, error) {
	set, err := parseKeySet(jwks, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("trusted software statement keys: %w", err)
	}
	if len(set.all) == 0 {
		return nil, errors.New("trusted software statement keys: the set holds no signing key Sigil can use")
	}
	return &SoftwareStatements{keys: set, clock: clock, leeway: leeway}, nil
}

// statementClaims are the registered claims RFC 7591 §2.3 and RFC 7519
// give a statement, beside the metadata.
type statementClaims struct {
	Issuer    string `json:"iss"`
	Expiry    *int64 `json:"exp"`
	NotBefore *int64 `json:"nbf"`
}

func invalidStatement(why string) error { return domain.ErrInvalidSoftwareStatement.With(why) }

// VerifySoftwareStatement implements application.SoftwareStatementVerifier.
// A statement that is no JWS, is signed with "none" or an HMAC, lacks iss,
// or has expired is invalid; one whose signature no trusted key verifies
// is unapproved. The statement's own software_statement is ignored.
func (s *SoftwareStatements) VerifySoftwareStatement(_ context.Context, statement string) (application.ClientMetadata, error) {
	if len(statement) > maxAssertionBytes || !canonicalCompact(statement) {
		return application.ClientMetadata{}, invalidStatement("the software statement is not a compact JWS")
	}
	jws, err := jose.ParseSignedCompact(statement, statementAlgorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return application.ClientMetadata{}, invalidStatement("the software statement is not a JWS signed with an algorithm Sigil accepts")
	}
	header := jws.Signatures[0].Protected
	alg := domain.Algorithm(header.Algorithm)
	if header.KeyID != "" {
		k, ok := s.keys.byKid[header.KeyID]
		if !ok || !k.accepts(alg) {
			return application.ClientMetadata{}, domain.ErrUnapprovedSoftwareStatement.With("the software statement is not signed by a trusted issuer")
		}
		// A trusted key's signature that does not verify is a forged or
		// damaged statement, not an unknown issuer's.
		payload, err := jws.Verify(k.pub)
		if err != nil {
			return application.ClientMetadata{}, invalidStatement("the software statement's signature is invalid")
		}
		return s.claims(payload)
	}
	var payload []byte
	for _, k := range s.keys.candidates(alg) {
		if payload, err = jws.Verify(k.pub); err == nil {
			break
		}
	}
	if payload == nil {
		return application.ClientMetadata{}, domain.ErrUnapprovedSoftwareStatement.With("the software statement is not signed by a trusted issuer")
	}
	return s.claims(payload)
}

// claims reads a verified statement's metadata, after its iss and times.
func (s *SoftwareStatements) claims(payload []byte) (application.ClientMetadata, error) {
	var claims statementClaims
	var m registrationwire.Metadata
	if json.Unmarshal(payload, &claims) != nil || json.Unmarshal(payload, &m) != nil {
		return application.ClientMetadata{}, invalidStatement("the software statement's claims are malformed")
	}
	now := s.clock.Now()
	switch {
	case claims.Issuer == "":
		return application.ClientMetadata{}, invalidStatement("the software statement has no iss (RFC 7591 §2.3)")
	case claims.Expiry != nil && now.After(time.Unix(*claims.Expiry, 0).Add(s.leeway)):
		return application.ClientMetadata{}, invalidStatement("the software statement has expired")
	case claims.NotBefore != nil && now.Add(s.leeway).Before(time.Unix(*claims.NotBefore, 0)):
		return application.ClientMetadata{}, invalidStatement("the software statement is not valid yet")
	}
	out := m.ToApplication()
	out.SoftwareStatement = ""
	return out, nil
}
