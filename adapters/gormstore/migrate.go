package gormstore

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sigilauth/sigil/domain"
)

// Migrate creates or updates Sigil's tables and, when the country table is
// empty, fills it with the ISO 3166-1 countries. It is safe to run on every
// start: a second run changes nothing, and countries an operator has since
// edited or removed stay as they are.
func Migrate(ctx context.Context, db *gorm.DB) error {
	db = db.WithContext(ctx)
	if err := db.AutoMigrate(&clientRow{}, &tokenRow{}, &signingKeyRow{}, &countryRow{}); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return db.Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&countryRow{}).Count(&n).Error; err != nil {
			return fmt.Errorf("migrate: count countries: %w", err)
		}
		if n > 0 {
			return nil
		}
		countries := domain.ISOCountries()
		rows := make([]countryRow, len(countries))
		for i, c := range countries {
			rows[i] = toCountryRow(c)
		}
		// DO NOTHING on conflict: two instances migrating at once both
		// see an empty table, and the second must not fail on the rows
		// the first inserted.
		err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 100).Error
		if err != nil {
			return fmt.Errorf("migrate: seed countries: %w", err)
		}
		return nil
	})
}
