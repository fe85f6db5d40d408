// Package auditlog writes application audit events as log records of a
// fixed shape, apart from the rest by audit=true: message "audit", then
// event and the fields its kind sets (see application.AuditKind).
package auditlog

import (
	"context"
	"log/slog"

	"github.com/sigilauth/sigil/application"
)

// Logger writes audit events to a slog logger, at info level.
type Logger struct {
	log *slog.Logger
}

var _ application.Auditor = (*Logger)(nil)

// New returns a Logger writing to log.
func New(log *slog.Logger) *Logger { return &Logger{log: log} }

// Audit implements application.Auditor. Fields an event does not set are
// left out; exp is in seconds since the epoch, as in the token.
func (l *Logger) Audit(ctx context.Context, e application.AuditEvent) {
	if !l.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs, slog.Bool("audit", true), slog.String("event", string(e.Kind)))
	add := func(key, value string) {
		if value != "" {
			attrs = append(attrs, slog.String(key, value))
		}
	}
	add("client_id", e.ClientID)
	add("sub", e.Subject)
	add("act", e.Actor)
	add("parent_jti", e.Parent)
	add("scope", e.Scope)
	if len(e.Audience) > 0 {
		attrs = append(attrs, slog.Any("aud", e.Audience))
	}
	add("format", string(e.Format))
	add("jti", e.JTI)
	if !e.ExpiresAt.IsZero() {
		attrs = append(attrs, slog.Int64("exp", e.ExpiresAt.Unix()))
	}
	add("kid", e.KID)
	add("alg", string(e.Algorithm))
	add("secret_id", e.SecretID)
	add("issuer", e.Issuer)
	if !e.IssuedBefore.IsZero() {
		attrs = append(attrs, slog.Int64("issued_before", e.IssuedBefore.Unix()))
	}
	if len(e.Changed) > 0 {
		attrs = append(attrs, slog.Any("changed", e.Changed))
	}
	l.log.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}
