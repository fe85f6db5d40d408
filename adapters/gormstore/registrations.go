package gormstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Registrations keeps what dynamic client registration (RFC 7591, 7592)
// knows of a client beside the client row: its registration access
// token's hash, its name and when it was registered.
type Registrations struct {
	db *gorm.DB
}

var _ application.RegistrationStore = (*Registrations)(nil)

// NewRegistrations returns the store over a migrated database.
func NewRegistrations(db *gorm.DB) *Registrations { return &Registrations{db: db} }

// registrationRow is a row of sigil_client_registrations.
type registrationRow struct {
	ClientID string `gorm:"column:client_id;primaryKey"`
	// TokenHash is the SHA-256 in hex: TEXT reads alike on both engines.
	TokenHash  string `gorm:"column:token_hash;not null"`
	ClientName string `gorm:"column:client_name;not null"`
	// IssuedAt in Unix microseconds; see codec.go.
	IssuedAt int64 `gorm:"column:issued_at;not null"`
}

func (registrationRow) TableName() string { return "sigil_client_registrations" }

// SaveRegistration implements application.RegistrationStore.
func (s *Registrations) SaveRegistration(ctx context.Context, r domain.ClientRegistration) error {
	row := registrationRow{ClientID: r.ClientID, TokenHash: hex.EncodeToString(r.TokenHash), ClientName: r.ClientName, IssuedAt: r.IssuedAt.UnixMicro()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "client_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"token_hash", "client_name", "issued_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("save registration of %s: %w", r.ClientID, err)
	}
	return nil
}

// FindRegistration implements application.RegistrationStore.
func (s *Registrations) FindRegistration(ctx context.Context, clientID string) (domain.ClientRegistration, error) {
	var row registrationRow
	err := s.db.WithContext(ctx).Where("client_id = ?", clientID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.ClientRegistration{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.ClientRegistration{}, fmt.Errorf("find registration of %s: %w", clientID, err)
	}
	hash, err := hex.DecodeString(row.TokenHash)
	if err != nil {
		return domain.ClientRegistration{}, fmt.Errorf("registration of %s: token hash: %w", clientID, err)
	}
	return domain.ClientRegistration{ClientID: row.ClientID, TokenHash: hash, ClientName: row.ClientName,
		IssuedAt: fromMicros(&row.IssuedAt)}, nil
}

// DeleteRegistration implements application.RegistrationStore; deleting
// what is not there is no error.
func (s *Registrations) DeleteRegistration(ctx context.Context, clientID string) error {
	if err := s.db.WithContext(ctx).Where("client_id = ?", clientID).Delete(&registrationRow{}).Error; err != nil {
		return fmt.Errorf("delete registration of %s: %w", clientID, err)
	}
	return nil
}
