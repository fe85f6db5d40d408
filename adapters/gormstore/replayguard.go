package gormstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/internal/storekey"
	"github.com/sigilauth/sigil/application"
)

// ReplayGuard remembers the ids of client assertions already used, until
// the assertions expire, so that each is accepted once (RFC 7523 §3 item
// 7). Several Sigil nodes sharing one PostgreSQL share the guard.
//
// An id is stored as its SHA-256: ids are chosen by clients, of any
// length, and PostgreSQL cannot index a key longer than about 2.7 kB.
type ReplayGuard struct {
	db    *gorm.DB
	clock application.Clock
}

var _ application.ReplayGuard = (*ReplayGuard)(nil)

// NewReplayGuard returns a guard over a migrated database that judges
// expiry by clock.
func NewReplayGuard(db *gorm.DB, clock application.Clock) *ReplayGuard {
	return &ReplayGuard{db: db, clock: clock}
}

// usedAssertionRow is a row of sigil_used_assertions.
type usedAssertionRow struct {
	// Hash is the hex SHA-256 of the id.
	Hash string `gorm:"column:hash;primaryKey"`
	// ExpiresAt in Unix microseconds; see codec.go.
	ExpiresAt int64 `gorm:"column:expires_at;not null;index"`
}

func (usedAssertionRow) TableName() string { return "sigil_used_assertions" }

// FirstUse implements application.ReplayGuard. It is one statement: the
// insert writes a row when the id is new, and the conflict branch
// rewrites a row only if it has expired, so of any number of concurrent
// callers, on one node or several, exactly one writes a row and sees true.
func (g *ReplayGuard) FirstUse(ctx context.Context, id string, until time.Time) (bool, error) {
	res := g.db.WithContext(ctx).Exec(`INSERT INTO sigil_used_assertions (hash, expires_at) VALUES (?, ?)
		ON CONFLICT (hash) DO UPDATE SET expires_at = excluded.expires_at
		WHERE sigil_used_assertions.expires_at <= ?`,
		storekey.Hash(id), until.UnixMicro(), g.clock.Now().UnixMicro())
	if res.Error != nil {
		return false, fmt.Errorf("record assertion id: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// DeleteExpired removes the ids whose expiry has come by the guard's
// clock and returns how many it removed.
func (g *ReplayGuard) DeleteExpired(ctx context.Context) (int64, error) {
	return deleteExpired(ctx, g.db, &usedAssertionRow{}, g.clock, "used assertions")
}
