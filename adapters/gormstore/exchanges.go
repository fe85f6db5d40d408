package gormstore

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sigilauth/sigil/application"
)

// Exchanges is the ledger of token exchanges (RFC 8693): which token was
// exchanged from which, until the exchanged one expires. It lives in the
// database whatever holds the tokens: an exchange is a rarer event than a
// client_credentials token, and a revocation must find its children on
// any node.
type Exchanges struct {
	db    *gorm.DB
	clock application.Clock
}

var _ application.ExchangeLedger = (*Exchanges)(nil)

// NewExchanges returns the ledger over a migrated database that judges
// expiry by clock.
func NewExchanges(db *gorm.DB, clock application.Clock) *Exchanges {
	return &Exchanges{db: db, clock: clock}
}

// exchangeRow is a row of sigil_token_exchanges.
type exchangeRow struct {
	ParentJTI string `gorm:"column:parent_jti;primaryKey"`
	ChildJTI  string `gorm:"column:child_jti;primaryKey"`
	// ExpiresAt is the child's expiry in Unix microseconds.
	ExpiresAt int64 `gorm:"column:expires_at;not null"`
}

func (exchangeRow) TableName() string { return "sigil_token_exchanges" }

// RecordExchange implements application.ExchangeLedger.
func (e *Exchanges) RecordExchange(ctx context.Context, parentJTI string, child application.ExchangedToken) error {
	r := exchangeRow{ParentJTI: parentJTI, ChildJTI: child.JTI, ExpiresAt: child.ExpiresAt.UnixMicro()}
	if err := e.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&r).Error; err != nil {
		return fmt.Errorf("record exchange: %w", err)
	}
	return nil
}

// ExchangedFrom implements application.ExchangeLedger.
func (e *Exchanges) ExchangedFrom(ctx context.Context, parentJTI string) ([]application.ExchangedToken, error) {
	var rows []exchangeRow
	err := e.db.WithContext(ctx).
		Where("parent_jti = ? AND expires_at > ?", parentJTI, e.clock.Now().UnixMicro()).
		Order("child_jti").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list exchanges: %w", err)
	}
	out := make([]application.ExchangedToken, len(rows))
	for i, r := range rows {
		exp := r.ExpiresAt
		out[i] = application.ExchangedToken{JTI: r.ChildJTI, ExpiresAt: fromMicros(&exp)}
	}
	return out, nil
}

// DeleteExpired removes the entries whose child has expired by the
// ledger's clock and returns how many it removed.
func (e *Exchanges) DeleteExpired(ctx context.Context) (int64, error) {
	return deleteExpired(ctx, e.db, &exchangeRow{}, e.clock, "token exchanges")
}
