package gormstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Clients is the registry of OAuth clients.
type Clients struct {
	db *gorm.DB
}

var _ application.ClientRegistry = (*Clients)(nil)

// NewClients returns a registry over a migrated database.
func NewClients(db *gorm.DB) *Clients { return &Clients{db: db} }

// clientRow is a row of sigil_clients.
type clientRow struct {
	ID         string `gorm:"column:id;primaryKey"`
	SecretHash string `gorm:"column:secret_hash;not null"`
	// AuthMethods, GrantTypes, AllowedScopes and DefaultScopes are
	// space-separated; Audience is a JSON array of strings.
	AuthMethods   string `gorm:"column:auth_methods;not null"`
	GrantTypes    string `gorm:"column:grant_types;not null"`
	AllowedScopes string `gorm:"column:allowed_scopes;not null"`
	DefaultScopes string `gorm:"column:default_scopes;not null"`
	Audience      string `gorm:"column:audience;not null"`
	TokenFormat   string `gorm:"column:token_format;not null"`
	// TokenLifetimeSeconds of 0 means the domain default.
	TokenLifetimeSeconds int64 `gorm:"column:token_lifetime_seconds;not null"`
	CanIntrospect        bool  `gorm:"column:can_introspect;not null"`
}

func (clientRow) TableName() string { return "sigil_clients" }

func toClientRow(c domain.Client) (clientRow, error) {
	r := clientRow{
		ID:                   c.ID,
		SecretHash:           c.SecretHash,
		TokenFormat:          string(c.TokenFormat),
		TokenLifetimeSeconds: int64(c.TokenLifetime / time.Second),
		CanIntrospect:        c.CanIntrospect,
	}
	var err error
	if r.AuthMethods, err = joinWords("auth method", c.AuthMethods); err != nil {
		return clientRow{}, err
	}
	if r.GrantTypes, err = joinWords("grant type", c.GrantTypes); err != nil {
		return clientRow{}, err
	}
	if r.AllowedScopes, err = joinWords("scope", c.AllowedScopes); err != nil {
		return clientRow{}, err
	}
	if r.DefaultScopes, err = joinWords("scope", c.DefaultScopes); err != nil {
		return clientRow{}, err
	}
	if r.Audience, err = encodeStrings(c.Audience); err != nil {
		return clientRow{}, err
	}
	return r, nil
}

func (r clientRow) toDomain() (domain.Client, error) {
	aud, err := decodeStrings(r.Audience)
	if err != nil {
		return domain.Client{}, fmt.Errorf("audience column: %w", err)
	}
	return domain.Client{
		ID:            r.ID,
		SecretHash:    r.SecretHash,
		AuthMethods:   splitWords[domain.AuthMethod](r.AuthMethods),
		GrantTypes:    splitWords[domain.GrantType](r.GrantTypes),
		AllowedScopes: domain.NewScopes(splitWords[string](r.AllowedScopes)...),
		DefaultScopes: domain.NewScopes(splitWords[string](r.DefaultScopes)...),
		Audience:      aud,
		TokenFormat:   domain.TokenFormat(r.TokenFormat),
		TokenLifetime: time.Duration(r.TokenLifetimeSeconds) * time.Second,
		CanIntrospect: r.CanIntrospect,
	}, nil
}

// FindClient implements application.ClientFinder.
func (s *Clients) FindClient(ctx context.Context, id string) (domain.Client, error) {
	var r clientRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.Client{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.Client{}, fmt.Errorf("find client: %w", err)
	}
	c, err := r.toDomain()
	if err != nil {
		return domain.Client{}, fmt.Errorf("find client %s: %w", id, err)
	}
	return c, nil
}

// SaveClient implements application.ClientSaver: it inserts the client or
// replaces every field of the one with the same id.
func (s *Clients) SaveClient(ctx context.Context, c domain.Client) error {
	r, err := toClientRow(c)
	if err != nil {
		return fmt.Errorf("save client %s: %w", c.ID, err)
	}
	err = s.db.WithContext(ctx).
		Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, UpdateAll: true}).
		Create(&r).Error
	if err != nil {
		return fmt.Errorf("save client %s: %w", c.ID, err)
	}
	return nil
}
