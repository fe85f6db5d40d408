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
// edited or removed stay as they are. A database of the first release has
// its clients' single secret hash moved to the secrets table.
//
// On PostgreSQL the whole migration is one transaction holding an advisory
// lock, so nodes that start together take turns: the first migrates, the
// others then find nothing left to do, instead of racing to create the
// same table or column and failing.
func Migrate(ctx context.Context, db *gorm.DB) error {
	db = db.WithContext(ctx)
	if db.Dialector.Name() != DriverPostgres {
		return migrate(db)
	}
	return db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrateLock).Error; err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		return migrate(tx)
	})
}

// migrateLock names Sigil's migration among the advisory locks of the
// database: any fixed number, here "sigilmig" in ASCII.
const migrateLock int64 = 0x736967696c6d6967

func migrate(db *gorm.DB) error {
	err := db.AutoMigrate(&clientRow{}, &clientSecretRow{}, &tokenRow{}, &signingKeyRow{}, &countryRow{},
		&deniedJTIRow{}, &usedAssertionRow{})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := moveSecretHash(db); err != nil {
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

// moveSecretHash carries a database of the first release forward. Its
// clients kept one secret hash in sigil_clients.secret_hash, NOT NULL,
// which every insert of a client would now violate. Each such hash becomes
// a secret with id "migrated" that never expires, so the clients still
// authenticate, and the column goes. AutoMigrate never drops a column, so
// this is done by hand.
func moveSecretHash(db *gorm.DB) error {
	if !db.Migrator().HasColumn(&clientRow{}, "secret_hash") {
		return nil
	}
	return db.Transaction(func(tx *gorm.DB) error {
		// Asked again inside the transaction: two processes sharing a
		// SQLite file may both have seen the column, and the immediate
		// transaction's lock lets only one through at a time.
		if !tx.Migrator().HasColumn(&clientRow{}, "secret_hash") {
			return nil
		}
		err := tx.Exec(`INSERT INTO sigil_client_secrets (client_id, id, ordinal, hash)
			SELECT id, 'migrated', 0, secret_hash FROM sigil_clients WHERE secret_hash <> ''
			ON CONFLICT DO NOTHING`).Error
		if err != nil {
			return fmt.Errorf("move secret hashes: %w", err)
		}
		if err := tx.Exec("ALTER TABLE sigil_clients DROP COLUMN secret_hash").Error; err != nil {
			return fmt.Errorf("drop secret_hash: %w", err)
		}
		return nil
	})
}
