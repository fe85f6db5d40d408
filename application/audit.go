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
	// and, for a JWT, KID and Algorithm; for a token exchange, Subject,
	// Actor and Parent.
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
	// AuditClientCreated, AuditClientChanged: ClientID, and Changed, the
	// names (as in a clients file) of the fields set or changed; a client
	// replaced whole lists every field it has. AuditClientDeleted:
	// ClientID.
	AuditClientCreated AuditKind = "client_created"
	AuditClientChanged AuditKind = "client_changed"
	AuditClientDeleted AuditKind = "client_deleted"
	// AuditSecretAdded, AuditSecretExpired: ClientID, SecretID and
	// ExpiresAt, when the secret stops being valid (absent for never).
	AuditSecretAdded   AuditKind = "secret_added"
	AuditSecretExpired AuditKind = "secret_expired"
	// AuditClientTokensRevoked: ClientID and IssuedBefore: every token of
	// the client issued up to that second is refused.
	AuditClientTokensRevoked AuditKind = "client_tokens_revoked"
	// AuditFederatedIssuerCreated, AuditFederatedIssuerChanged,
	// AuditFederatedIssuerDeleted: Issuer, a trust relationship managed
	// through the admin API.
	AuditFederatedIssuerCreated AuditKind = "federated_issuer_created"
	AuditFederatedIssuerChanged AuditKind = "federated_issuer_changed"
	AuditFederatedIssuerDeleted AuditKind = "federated_issuer_deleted"
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
	// SecretID names a client secret (never the secret itself).
	SecretID string
	// IssuedBefore is the time of a revocation of a client's tokens.
	IssuedBefore time.Time
	// Changed names the client fields a change set.
	Changed []string
	// Subject is the sub of a token issued by token exchange, Actor the
	// sub of who acts for it (the current actor, empty without act), and
	// Parent the jti of the subject token when it was one of Sigil's.
	Subject, Actor, Parent string
	// Issuer is the iss of a trusted external issuer.
	Issuer string
}

// audit hands e to a, if there is one.
func audit(ctx context.Context, a Auditor, e AuditEvent) {
	if a != nil {
		a.Audit(ctx, e)
	}
}
