package gormstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// DenyList remembers the jti of each revoked JWT access token until the
// token expires (RFC 7009 §2): a JWT cannot be deleted, so it is refused
// by name instead.
type DenyList struct {
	db    *gorm.DB
	clock application.Clock
}

var (
	_ application.DenyList   = (*DenyList)(nil)
	_ application.DenyLister = (*DenyList)(nil)
)

// NewDenyList returns a deny list over a migrated database that judges
// expiry by clock.
func NewDenyList(db *gorm.DB, clock application.Clock) *DenyList {
	return &DenyList{db: db, clock: clock}
}

// deniedJTIRow is a row of sigil_denied_jtis.
type deniedJTIRow struct {
	JTI string `gorm:"column:jti;primaryKey"`
	// ExpiresAt in Unix microseconds; see codec.go.
	ExpiresAt int64 `gorm:"column:expires_at;not null;index"`
}

func (deniedJTIRow) TableName() string { return "sigil_denied_jtis" }

// Deny implements application.DenyList. Denying a jti again keeps the
// later of the two expiries: a deny entry is never shortened. An expiry
// already past (or none) records nothing, as the token is dead anyway.
func (d *DenyList) Deny(ctx context.Context, jti string, until time.Time) error {
	if !d.clock.Now().Before(until) {
		return nil
	}
	// One statement, so concurrent denials of one jti cannot lose the
	// longer expiry; both engines read this upsert alike.
	err := d.db.WithContext(ctx).Exec(`INSERT INTO sigil_denied_jtis (jti, expires_at) VALUES (?, ?)
		ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at
		WHERE sigil_denied_jtis.expires_at < excluded.expires_at`,
		jti, until.UnixMicro()).Error
	if err != nil {
		return fmt.Errorf("deny jti: %w", err)
	}
	return nil
}

// IsDenied implements application.DenyList: true while the entry has not
// expired by the list's clock, whether or not DeleteExpired has run.
func (d *DenyList) IsDenied(ctx context.Context, jti string) (bool, error) {
	var n int64
	err := d.db.WithContext(ctx).Model(&deniedJTIRow{}).
		Where("jti = ? AND expires_at > ?", jti, d.clock.Now().UnixMicro()).
		Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("check denied jti: %w", err)
	}
	return n > 0, nil
}

// DeleteExpired removes the entries whose expiry has come by the list's
// clock and returns how many it removed.
func (d *DenyList) DeleteExpired(ctx context.Context) (int64, error) {
	return deleteExpired(ctx, d.db, &deniedJTIRow{}, d.clock, "denied jtis")
}

// ListDenied implements application.DenyLister: every entry that has not
// expired by the list's clock, as a revocation event, ordered by jti.
func (d *DenyList) ListDenied(ctx context.Context) ([]domain.Event, error) {
	var rows []deniedJTIRow
	err := d.db.WithContext(ctx).
		Where("expires_at > ?", d.clock.Now().UnixMicro()).
		Order("jti").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list denied jtis: %w", err)
	}
	events := make([]domain.Event, len(rows))
	for i, r := range rows {
		events[i] = domain.Event{Kind: domain.EventRevoked, JTI: r.JTI, ExpiresAt: time.UnixMicro(r.ExpiresAt).UTC()}
	}
	return events, nil
}
