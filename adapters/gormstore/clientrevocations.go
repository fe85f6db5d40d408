package gormstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// ClientRevocations keeps, per client, the time up to which every token of
// the client is revoked: one row per client ever revoked, a few bytes
// each, read whole by every node on a schedule.
type ClientRevocations struct {
	db *gorm.DB
}

var _ application.ClientRevocationStore = (*ClientRevocations)(nil)

// NewClientRevocations returns the store over a migrated database.
func NewClientRevocations(db *gorm.DB) *ClientRevocations { return &ClientRevocations{db: db} }

// clientRevocationRow is a row of sigil_client_revocations.
type clientRevocationRow struct {
	ClientID string `gorm:"column:client_id;primaryKey"`
	// RevokedBefore in Unix microseconds; see codec.go.
	RevokedBefore int64 `gorm:"column:revoked_before;not null"`
}

func (clientRevocationRow) TableName() string { return "sigil_client_revocations" }

// RevokeClientTokens implements application.ClientRevocationStore.
func (s *ClientRevocations) RevokeClientTokens(ctx context.Context, client string, before time.Time) error {
	row := clientRevocationRow{ClientID: client, RevokedBefore: before.UnixMicro()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "client_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"revoked_before"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("revoke tokens of client %s: %w", client, err)
	}
	return nil
}

// ListClientRevocations implements application.ClientRevocationLister.
func (s *ClientRevocations) ListClientRevocations(ctx context.Context) ([]domain.Event, error) {
	var rows []clientRevocationRow
	if err := s.db.WithContext(ctx).Order("client_id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list client revocations: %w", err)
	}
	out := make([]domain.Event, len(rows))
	for i, r := range rows {
		out[i] = domain.Event{Kind: domain.EventClientTokensRevoked, ClientID: r.ClientID, IssuedBefore: fromMicros(&r.RevokedBefore)}
	}
	return out, nil
}
