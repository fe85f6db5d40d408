package gormstore

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Countries reads the ISO 3166-1 country table that Migrate seeds.
type Countries struct {
	db *gorm.DB
}

var _ application.CountryFinder = (*Countries)(nil)

// NewCountries returns a finder over a migrated database.
func NewCountries(db *gorm.DB) *Countries { return &Countries{db: db} }

// countryRow is a row of sigil_countries.
type countryRow struct {
	Alpha3 string `gorm:"column:alpha3;primaryKey;size:3"`
	Alpha2 string `gorm:"column:alpha2;not null;size:2;uniqueIndex"`
	Name   string `gorm:"column:name;not null"`
}

func (countryRow) TableName() string { return "sigil_countries" }

func toCountryRow(c domain.Country) countryRow {
	return countryRow{Alpha3: c.Alpha3, Alpha2: c.Alpha2, Name: c.Name}
}

func (r countryRow) toDomain() domain.Country {
	return domain.Country{Alpha3: r.Alpha3, Alpha2: r.Alpha2, Name: r.Name}
}

// FindCountry implements application.CountryFinder.
func (s *Countries) FindCountry(ctx context.Context, code string) (domain.Country, error) {
	column := "alpha3"
	if len(code) == 2 {
		column = "alpha2"
	}
	var r countryRow
	err := s.db.WithContext(ctx).Where(column+" = ?", code).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.Country{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.Country{}, fmt.Errorf("find country: %w", err)
	}
	return r.toDomain(), nil
}

// ListCountries implements application.CountryFinder. A limit below one
// gives no countries, only the total.
func (s *Countries) ListCountries(ctx context.Context, offset, limit int) ([]domain.Country, int, error) {
	db := s.db.WithContext(ctx)
	var total int64
	if err := db.Model(&countryRow{}).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count countries: %w", err)
	}
	if limit < 1 || int64(offset) >= total {
		return nil, int(total), nil
	}
	var rows []countryRow
	err := db.Order("alpha3").Offset(max(offset, 0)).Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, 0, fmt.Errorf("list countries: %w", err)
	}
	out := make([]domain.Country, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, int(total), nil
}
