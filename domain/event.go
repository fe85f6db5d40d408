package domain

import "time"

// EventKind says what an Event reports.
type EventKind string

// Event kinds carried by the feed between nodes.
const (
	// EventRevoked: the token with JTI was revoked; it would have expired
	// at ExpiresAt, after which the entry may be forgotten.
	EventRevoked EventKind = "revoked"
	// EventKeyRemoved: the signing key KID left the JWKS.
	EventKeyRemoved EventKind = "key_removed"
	// EventClientChanged: the client ClientID was changed or deleted.
	EventClientChanged EventKind = "client_changed"
	// EventClientTokensRevoked: every token of the client ClientID issued
	// at or before IssuedBefore (compared in whole seconds, as a JWT's iat)
	// is revoked.
	EventClientTokensRevoked EventKind = "client_tokens_revoked"
	// EventFederationChanged: a trusted external issuer was added,
	// changed or removed through the admin API; nodes reload the set.
	EventFederationChanged EventKind = "federation_changed"
)

// Event is a change one node makes that others must learn at once.
type Event struct {
	Kind      EventKind
	JTI       string
	KID       string
	ClientID  string
	ExpiresAt time.Time
	// IssuedBefore is the revocation time of EventClientTokensRevoked.
	IssuedBefore time.Time
}

// RevokesIssuedAt reports whether a client's tokens revoked at revokedAt
// include one issued at issuedAt. Both are compared in whole seconds,
// since a JWT's iat has no finer grain: a token issued in the same second
// as the revocation is refused too, which errs on the safe side.
func RevokesIssuedAt(revokedAt, issuedAt time.Time) bool {
	return !revokedAt.IsZero() && issuedAt.Unix() <= revokedAt.Unix()
}
