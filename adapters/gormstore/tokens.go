package gormstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/adapters/internal/storekey"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Tokens keeps opaque access tokens. A row is keyed by the SHA-256 of the
// token value and the value itself is never written, so whoever reads the
// table (a backup, a replica, a DBA) cannot present the tokens it lists.
// An unsalted fast hash is enough: the values are 256-bit random strings
// that no dictionary holds.
type Tokens struct {
	db    *gorm.DB
	clock application.Clock
}

var _ application.TokenStore = (*Tokens)(nil)

// NewTokens returns a store over a migrated database that judges expiry by
// clock.
func NewTokens(db *gorm.DB, clock application.Clock) *Tokens {
	return &Tokens{db: db, clock: clock}
}

// tokenRow is a row of sigil_opaque_tokens.
type tokenRow struct {
	// Hash is the hex SHA-256 of the token value.
	Hash     string `gorm:"column:hash;primaryKey"`
	JTI      string `gorm:"column:jti;not null"`
	Format   string `gorm:"column:format;not null"`
	Issuer   string `gorm:"column:issuer;not null"`
	Subject  string `gorm:"column:subject;not null"`
	ClientID string `gorm:"column:client_id;not null"`
	// Scopes is space-separated; Audience a JSON array of strings.
	Scopes   string `gorm:"column:scopes;not null"`
	Audience string `gorm:"column:audience;not null"`
	// Times in Unix microseconds; see codec.go.
	IssuedAt  *int64 `gorm:"column:issued_at"`
	NotBefore *int64 `gorm:"column:not_before"`
	ExpiresAt int64  `gorm:"column:expires_at;not null;index"`
	// JKT is the thumbprint of the DPoP key the token is bound to, empty
	// for a bearer token (added by migration 5).
	JKT string `gorm:"column:jkt;not null;default:''"`
	// X5T is the x5t#S256 of the certificate the token is bound to,
	// empty when none (added by migration 6).
	X5T string `gorm:"column:x5t_s256;not null;default:''"`
	// Act is the act claim of an exchanged token as JSON, empty when it
	// has none; ParentJTI the jti it was exchanged from (added by
	// migration 8).
	Act       string `gorm:"column:act;not null;default:''"`
	ParentJTI string `gorm:"column:parent_jti;not null;default:''"`
}

func (tokenRow) TableName() string { return "sigil_opaque_tokens" }

func toTokenRow(t domain.Token) (tokenRow, error) {
	r := tokenRow{
		Hash:      storekey.Hash(t.Value),
		JTI:       t.ID,
		Format:    string(t.Format),
		Issuer:    t.Issuer,
		Subject:   t.Subject,
		ClientID:  t.ClientID,
		IssuedAt:  toMicros(t.IssuedAt),
		NotBefore: toMicros(t.NotBefore),
		ExpiresAt: t.ExpiresAt.UnixMicro(),
		JKT:       t.JKT,
		X5T:       t.X5T,
		ParentJTI: t.Parent,
	}
	var err error
	if t.Actor != nil {
		b, err := json.Marshal(claims.NewActor(t.Actor))
		if err != nil {
			return tokenRow{}, fmt.Errorf("act: %w", err)
		}
		r.Act = string(b)
	}
	if r.Scopes, err = joinWords("scope", t.Scopes); err != nil {
		return tokenRow{}, err
	}
	if r.Audience, err = encodeStrings(t.Audience); err != nil {
		return tokenRow{}, err
	}
	return r, nil
}

func (r tokenRow) toDomain(value string) (domain.Token, error) {
	aud, err := decodeStrings(r.Audience)
	if err != nil {
		return domain.Token{}, fmt.Errorf("audience column: %w", err)
	}
	var act *domain.Actor
	if r.Act != "" {
		var a *claims.Actor
		if err := json.Unmarshal([]byte(r.Act), &a); err != nil {
			return domain.Token{}, fmt.Errorf("act column: %w", err)
		}
		if act, err = a.ToDomain(); err != nil {
			return domain.Token{}, fmt.Errorf("act column: %w", err)
		}
	}
	exp := r.ExpiresAt
	return domain.Token{
		Value:     value,
		Format:    domain.TokenFormat(r.Format),
		ID:        r.JTI,
		Issuer:    r.Issuer,
		Subject:   r.Subject,
		ClientID:  r.ClientID,
		Scopes:    domain.NewScopes(splitWords[string](r.Scopes)...),
		Audience:  aud,
		IssuedAt:  fromMicros(r.IssuedAt),
		NotBefore: fromMicros(r.NotBefore),
		ExpiresAt: fromMicros(&exp),
		JKT:       r.JKT,
		X5T:       r.X5T,
		Actor:     act,
		Parent:    r.ParentJTI,
	}, nil
}

// SaveToken implements application.TokenStore. Saving a value again
// replaces what was stored for it.
func (s *Tokens) SaveToken(ctx context.Context, t domain.Token) error {
	if t.ExpiresAt.IsZero() {
		// A token that never expires would never leave the table.
		return errors.New("save token: token has no expiry")
	}
	r, err := toTokenRow(t)
	if err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	err = s.db.WithContext(ctx).
		Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "hash"}}, UpdateAll: true}).
		Create(&r).Error
	if err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	return nil
}

// FindToken implements application.TokenStore. A token whose expiry has
// come by the store's clock is not found, whether or not DeleteExpired
// has removed its row yet.
func (s *Tokens) FindToken(ctx context.Context, value string) (domain.Token, error) {
	var r tokenRow
	err := s.db.WithContext(ctx).
		Where("hash = ? AND expires_at > ?", storekey.Hash(value), s.clock.Now().UnixMicro()).
		Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.Token{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.Token{}, fmt.Errorf("find token: %w", err)
	}
	t, err := r.toDomain(value)
	if err != nil {
		return domain.Token{}, fmt.Errorf("find token: %w", err)
	}
	return t, nil
}

// DeleteToken implements application.TokenStore.
func (s *Tokens) DeleteToken(ctx context.Context, value string) error {
	if err := s.db.WithContext(ctx).Where("hash = ?", storekey.Hash(value)).Delete(&tokenRow{}).Error; err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}

// DeleteExpired removes the tokens whose expiry has come by the store's
// clock and returns how many it removed. Run it now and then: expired
// rows are never found, but they take space until deleted.
func (s *Tokens) DeleteExpired(ctx context.Context) (int64, error) {
	return deleteExpired(ctx, s.db, &tokenRow{}, s.clock, "tokens")
}

// deleteExpired removes the rows of model's table whose expires_at has
// come by clock, for the sweeps the server schedules.
func deleteExpired(ctx context.Context, db *gorm.DB, model any, clock application.Clock, what string) (int64, error) {
	res := db.WithContext(ctx).Where("expires_at <= ?", clock.Now().UnixMicro()).Delete(model)
	if res.Error != nil {
		return 0, fmt.Errorf("delete expired %s: %w", what, res.Error)
	}
	return res.RowsAffected, nil
}
