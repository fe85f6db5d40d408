package gormstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// FederatedIssuers keeps the trust relationships managed through the
// admin API (application.FederatedIssuerStore): one row per issuer, the
// entry as JSON in the federation file's names, so a later field needs no
// migration.
type FederatedIssuers struct {
	db *gorm.DB
}

var _ application.FederatedIssuerStore = (*FederatedIssuers)(nil)

// NewFederatedIssuers returns the store over a migrated database.
func NewFederatedIssuers(db *gorm.DB) *FederatedIssuers { return &FederatedIssuers{db: db} }

// federatedIssuerRow is a row of sigil_federated_issuers.
type federatedIssuerRow struct {
	Issuer string `gorm:"column:issuer;primaryKey"`
	Entry  string `gorm:"column:entry;not null"`
	// UpdatedAt in Unix microseconds; see codec.go.
	UpdatedAt int64 `gorm:"column:updated_at;not null"`
}

func (federatedIssuerRow) TableName() string { return "sigil_federated_issuers" }

// federatedIssuerJSON is the entry column: the adapter's own wire shape.
type federatedIssuerJSON struct {
	DiscoveryURL       string                 `json:"discovery_url,omitempty"`
	JWKSURI            string                 `json:"jwks_uri,omitempty"`
	JWKS               string                 `json:"jwks,omitempty"`
	Audiences          []string               `json:"audiences,omitempty"`
	Algorithms         []string               `json:"algorithms,omitempty"`
	MaxLifetime        string                 `json:"max_lifetime,omitempty"`
	AllowReuse         bool                   `json:"allow_reuse,omitempty"`
	SubjectTokenScopes []string               `json:"subject_token_scopes,omitempty"`
	Clients            []federationMappingRow `json:"clients,omitempty"`
}

type federationMappingRow struct {
	Client  string            `json:"client"`
	Subject string            `json:"sub,omitempty"`
	Claims  map[string]string `json:"claims,omitempty"`
}

func toFederatedIssuerRow(s application.FederatedIssuerSpec, at time.Time) (federatedIssuerRow, error) {
	e := federatedIssuerJSON{
		DiscoveryURL: s.DiscoveryURL, JWKSURI: s.JWKSURI, JWKS: s.JWKS, Audiences: s.Audiences, Algorithms: s.Algorithms,
		MaxLifetime: s.MaxLifetime, AllowReuse: s.AllowReuse, SubjectTokenScopes: s.SubjectTokenScopes,
	}
	for _, m := range s.Clients {
		e.Clients = append(e.Clients, federationMappingRow{Client: m.Client, Subject: m.Subject, Claims: m.Claims})
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return federatedIssuerRow{}, err
	}
	return federatedIssuerRow{Issuer: s.Issuer, Entry: string(raw), UpdatedAt: at.UnixMicro()}, nil
}

func toFederatedIssuerSpec(r federatedIssuerRow) (application.FederatedIssuerSpec, error) {
	var e federatedIssuerJSON
	if err := json.Unmarshal([]byte(r.Entry), &e); err != nil {
		return application.FederatedIssuerSpec{}, fmt.Errorf("federated issuer %s: %w", r.Issuer, err)
	}
	s := application.FederatedIssuerSpec{
		Issuer: r.Issuer, DiscoveryURL: e.DiscoveryURL, JWKSURI: e.JWKSURI, JWKS: e.JWKS, Audiences: e.Audiences,
		Algorithms: e.Algorithms, MaxLifetime: e.MaxLifetime, AllowReuse: e.AllowReuse, SubjectTokenScopes: e.SubjectTokenScopes,
	}
	for _, m := range e.Clients {
		s.Clients = append(s.Clients, application.FederationMapping{Client: m.Client, Subject: m.Subject, Claims: m.Claims})
	}
	return s, nil
}

// SaveFederatedIssuer implements application.FederatedIssuerStore.
func (s *FederatedIssuers) SaveFederatedIssuer(ctx context.Context, spec application.FederatedIssuerSpec) (bool, error) {
	row, err := toFederatedIssuerRow(spec, time.Now())
	if err != nil {
		return false, fmt.Errorf("encode federated issuer %s: %w", spec.Issuer, err)
	}
	var created bool
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&federatedIssuerRow{}).Where("issuer = ?", spec.Issuer).Count(&n).Error; err != nil {
			return err
		}
		created = n == 0
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "issuer"}},
			DoUpdates: clause.AssignmentColumns([]string{"entry", "updated_at"}),
		}).Create(&row).Error
	})
	if err != nil {
		return false, fmt.Errorf("save federated issuer %s: %w", spec.Issuer, err)
	}
	return created, nil
}

// DeleteFederatedIssuer implements application.FederatedIssuerStore.
func (s *FederatedIssuers) DeleteFederatedIssuer(ctx context.Context, iss string) error {
	res := s.db.WithContext(ctx).Where("issuer = ?", iss).Delete(&federatedIssuerRow{})
	if res.Error != nil {
		return fmt.Errorf("delete federated issuer %s: %w", iss, res.Error)
	}
	if res.RowsAffected == 0 {
		return domain.ErrNotFound
	}
	return nil
}

// ListFederatedIssuers implements application.FederatedIssuerStore.
func (s *FederatedIssuers) ListFederatedIssuers(ctx context.Context) ([]application.FederatedIssuerSpec, error) {
	var rows []federatedIssuerRow
	if err := s.db.WithContext(ctx).Order("issuer").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list federated issuers: %w", err)
	}
	out := make([]application.FederatedIssuerSpec, 0, len(rows))
	for _, r := range rows {
		spec, err := toFederatedIssuerSpec(r)
		if err != nil {
			return nil, err
		}
		out = append(out, spec)
	}
	return out, nil
}
