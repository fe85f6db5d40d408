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
)

// Event is a change one node makes that others must learn at once.
type Event struct {
	Kind      EventKind
	JTI       string
	KID       string
	ClientID  string
	ExpiresAt time.Time
}
