package application

import (
	"context"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// AuditKind names an audit event. The names, and the fields each kind
// sets, are a stable schema that operators build alerts and reports on:
// add to them, never rename.
type AuditKind string

// Audit event kinds.
const (
	// AuditTokenIssued: ClientID, Scope, Audience, Format, JTI, ExpiresAt
	// and, for a JWT, KID and Algorithm.
	AuditTokenIssued AuditKind = "token_issued"
	// AuditTokenRevoked: ClientID, Format, JTI, ExpiresAt.
	AuditTokenRevoked AuditKind = "token_revoked"
	// AuditKeyPublished, AuditKeyActivated, AuditKeyRetired,
	// AuditKeyRemoved: KID, a signing key entering that stage. A key
	// created active is published and activated at once.
	AuditKeyPublished AuditKind = "key_published"
	AuditKeyActivated AuditKind = "key_activated"
	AuditKeyRetired   AuditKind = "key_retired"
	AuditKeyRemoved   AuditKind = "key_removed"
)

// AuditEvent is one change worth a trail: who got or lost which token,
// which signing key changed stage. It never holds a token or a secret.
type AuditEvent struct {
	Kind      AuditKind
	ClientID  string
	Scope     string
	Audience  []string
	Format    domain.TokenFormat
	JTI       string
	ExpiresAt time.Time
	KID       string
	// Algorithm is the signing algorithm of a JWT issued.
	Algorithm domain.Algorithm
}

// audit hands e to a, if there is one.
func audit(ctx context.Context, a Auditor, e AuditEvent) {
	if a != nil {
		a.Audit(ctx, e)
	}
}
