package domain

import "time"

// Token types Sigil issues: bearer tokens (RFC 6750), and tokens bound
// to a DPoP key (RFC 9449 §5: token_type "DPoP").
const (
	TokenTypeBearer = "Bearer"
	TokenTypeDPoP   = "DPoP"
)

// ClientAssertion is what Sigil reads from a client's JWT assertion
// (RFC 7523 §3) once its signature has been checked.
type ClientAssertion struct {
	Issuer    string
	Subject   string
	Audience  []string
	ID        string // jti
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
	// Algorithm is the assertion's alg.
	Algorithm Algorithm
}

// Token is an issued access token and what it grants.
type Token struct {
	// Value is the access token as the client holds it: a compact JWS or
	// an opaque random string. Stores never keep it, only its hash.
	Value     string
	Format    TokenFormat
	ID        string // jti
	Issuer    string
	Subject   string
	ClientID  string
	Scopes    Scopes
	Audience  []string
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
	// KeyID is the kid of the key that signed a JWT; empty for an opaque
	// token. A verification is only as good as that key: once the key is
	// removed, the token is refused however it was checked before.
	KeyID string
	// JKT is the SHA-256 JWK thumbprint (RFC 7638) of the DPoP key the
	// token is bound to, its cnf.jkt (RFC 9449 §6); empty for a bearer
	// token. A bound token is accepted only with a proof made by that key.
	JKT string
	// X5T is the x5t#S256 of the TLS client certificate the token is
	// bound to (RFC 8705 §3.1); empty when it is not. It is checked apart
	// from JKT: a token may be bound to both, and then needs both.
	X5T string
	// Actor is the act claim of a token issued by token exchange (RFC 8693
	// §4.1) for a subject other than the client: who acts, and before it
	// whom; nil otherwise.
	Actor *Actor
	// MayAct is the may_act claim (RFC 8693 §4.4) of a subject token: who
	// may act for its subject. Sigil reads it and never issues it.
	MayAct *Actor
	// Parent is the jti of the token this one was exchanged from, when that
	// was one of Sigil's: revoking the parent revokes it too.
	Parent string
}

// Type is the token_type the token is issued and introspected as.
func (t Token) Type() string {
	if t.JKT != "" {
		return TokenTypeDPoP
	}
	return TokenTypeBearer
}

// ActiveAt reports whether the token is valid at now, allowing leeway for
// clock skew on both ends.
func (t Token) ActiveAt(now time.Time, leeway time.Duration) bool {
	if !t.NotBefore.IsZero() && now.Add(leeway).Before(t.NotBefore) {
		return false
	}
	return now.Add(-leeway).Before(t.ExpiresAt)
}

// ExpiresIn is the remaining lifetime at now in whole seconds, never negative.
func (t Token) ExpiresIn(now time.Time) int64 {
	d := t.ExpiresAt.Sub(now)
	if d < 0 {
		return 0
	}
	return int64(d / time.Second)
}
