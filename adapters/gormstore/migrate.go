package gormstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sigilauth/sigil/domain"
)

// migration is one numbered change of the schema, recorded in
// sigil_schema_migrations once applied.
type migration struct {
	version int
	name    string
	// up applies the change. On SQLite it runs outside any transaction
	// (see Migrate), so a crash between it and its record makes it run
	// again: every step must be safe to repeat.
	up func(db *gorm.DB) error
}

// migrations are applied in order; a new release appends, never edits.
var migrations = []migration{
	{1, "baseline schema", migrateBaseline},
	{2, "signing keys sealed and dated", migrateSigningKeyColumns},
	{3, "lock leases", createLockTable},
	{4, "client token revocations", createClientRevocationTable},
	{5, "dpop key binding", migrateDPoPColumns},
	{6, "mutual tls and fapi2 profile", migrateMTLSColumns},
	{7, "dynamic client registrations", createRegistrationTable},
	{8, "token exchange", migrateTokenExchange},
	{9, "federated issuers", createFederatedIssuerTable},
}

// Migrate applies the steps of migrations the database has not recorded
// yet, each once, and records them. It is safe to run on every start and
// on several nodes starting at once:
//
//   - On PostgreSQL the whole migration is one transaction holding an
//     advisory lock, so nodes take turns: the first migrates, the others
//     then find nothing left to do, instead of racing to create the same
//     table or column. (Releases before versioning took the same lock.)
//   - On SQLite the steps cannot share a transaction: changing a column
//     rebuilds the table with foreign keys turned off, and SQLite ignores
//     PRAGMA foreign_keys inside a transaction, so the drop of the old
//     table would cascade to the rows that reference it. Processes sharing
//     the file take turns through a lease in sigil_locks instead.
//
// A database migrated by a release before versioning has its tables but
// no record: step 1, which is that release's Migrate (it creates only what
// is missing, carries a first-release database forward, and seeds the
// countries only into an empty table), brings it to the baseline and
// records it, and the later steps follow.
//
// A database recording a step this release does not know was migrated by
// a newer release; Migrate refuses it rather than run old code over a
// schema it does not understand.
func Migrate(ctx context.Context, db *gorm.DB) error {
	// A migration may wait for another node's, and may take longer than
	// one request's statement: only the caller's context bounds it.
	db = db.WithContext(withoutStatementDeadline(ctx))
	if db.Dialector.Name() == DriverPostgres {
		return db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrateLock).Error; err != nil {
				return fmt.Errorf("migrate: lock: %w", err)
			}
			return applyMigrations(tx)
		})
	}
	// The lease table must exist before the lease can be taken; creating
	// it IF NOT EXISTS is safe from any number of processes.
	if err := createLockTable(db); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	holder := rand.Text()
	if err := waitForLease(ctx, db, migrateLeaseName, holder); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	err := applyMigrations(db)
	held, rerr := dropLease(context.WithoutCancel(ctx), db, migrateLeaseName, holder)
	switch {
	case err != nil:
		return err
	case rerr != nil:
		return fmt.Errorf("migrate: release lease: %w", rerr)
	case !held:
		return fmt.Errorf("migrate: the lease ran out before the migration finished; another process may have migrated at the same time")
	}
	return nil
}

// migrateLock names Sigil's migration among the advisory locks of the
// database: any fixed number, here "sigilmig" in ASCII.
const migrateLock int64 = 0x736967696c6d6967

// migrateLeaseName is the lease SQLite migrations take in sigil_locks.
const migrateLeaseName = "sigil-schema-migration"

// migrationRow is a row of sigil_schema_migrations.
type migrationRow struct {
	Version int    `gorm:"column:version;primaryKey;autoIncrement:false"`
	Name    string `gorm:"column:name;not null"`
	// AppliedAt in Unix microseconds; see codec.go.
	AppliedAt int64 `gorm:"column:applied_at;not null"`
}

func (migrationRow) TableName() string { return "sigil_schema_migrations" }

// The bookkeeping tables are written as SQL both engines read alike, not
// derived from row types, so that no later change to a Go type can change
// what an old step does.
const createMigrationTable = `CREATE TABLE IF NOT EXISTS sigil_schema_migrations (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`

func applyMigrations(db *gorm.DB) error {
	if err := db.Exec(createMigrationTable).Error; err != nil {
		return fmt.Errorf("migrate: create sigil_schema_migrations: %w", err)
	}
	var done []int
	if err := db.Model(&migrationRow{}).Order("version").Pluck("version", &done).Error; err != nil {
		return fmt.Errorf("migrate: read applied versions: %w", err)
	}
	applied := make(map[int]bool, len(done))
	latest := migrations[len(migrations)-1].version
	for _, v := range done {
		if v > latest {
			return fmt.Errorf("migrate: the database schema has version %d, newer than this release knows (%d): run the release that migrated it, or a newer one", v, latest)
		}
		applied[v] = true
	}
	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		if err := m.up(db); err != nil {
			return fmt.Errorf("migrate: step %d (%s): %w", m.version, m.name, err)
		}
		rec := migrationRow{Version: m.version, Name: m.name, AppliedAt: time.Now().UnixMicro()}
		if err := db.Create(&rec).Error; err != nil {
			return fmt.Errorf("migrate: record step %d: %w", m.version, err)
		}
	}
	return nil
}

// AppliedMigrations returns the versions of the steps the database has
// recorded, in order; none for a database never migrated.
func AppliedMigrations(ctx context.Context, db *gorm.DB) ([]int, error) {
	db = db.WithContext(ctx)
	if !db.Migrator().HasTable(&migrationRow{}) {
		return nil, nil
	}
	var done []int
	if err := db.Model(&migrationRow{}).Order("version").Pluck("version", &done).Error; err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	return done, nil
}

// signingKeyRowV1 is sigil_signing_keys as step 1 creates it, frozen:
// step 1 must create the same table on a new database in every release,
// whatever signingKeyRow has become since. A later step that changes
// another table must likewise freeze that table's row type here first.
type signingKeyRowV1 struct {
	Kid              string `gorm:"column:kid;primaryKey"`
	Algorithm        string `gorm:"column:algorithm;not null"`
	State            string `gorm:"column:state;not null"`
	PrivateKey       []byte `gorm:"column:private_key;not null"`
	CreatedUnixMicro *int64 `gorm:"column:created_at"`
}

func (signingKeyRowV1) TableName() string { return "sigil_signing_keys" }

// migrateBaseline is step 1: the schema of the release before versioned
// migrations, and that release's whole Migrate, so that it also adopts a
// database of that release or of the first one.
func migrateBaseline(db *gorm.DB) error {
	err := db.AutoMigrate(&clientRow{}, &clientSecretRow{}, &tokenRow{}, &signingKeyRowV1{}, &countryRow{},
		&deniedJTIRow{}, &usedAssertionRow{})
	if err != nil {
		return err
	}
	if err := moveSecretHash(db); err != nil {
		return err
	}
	return seedCountries(db)
}

// seedCountries fills an empty country table with the ISO 3166-1
// countries. Countries an operator has since edited or removed stay as
// they are: a table with any row is left alone.
func seedCountries(db *gorm.DB) error {
	return db.Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&countryRow{}).Count(&n).Error; err != nil {
			return fmt.Errorf("count countries: %w", err)
		}
		if n > 0 {
			return nil
		}
		countries := domain.ISOCountries()
		rows := make([]countryRow, len(countries))
		for i, c := range countries {
			rows[i] = toCountryRow(c)
		}
		// DO NOTHING on conflict: two instances of a release before
		// versioning may be migrating beside this one.
		err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 100).Error
		if err != nil {
			return fmt.Errorf("seed countries: %w", err)
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
		// Asked again inside the transaction: a process of an older
		// release sharing the SQLite file may have moved them meanwhile,
		// and the immediate transaction's lock lets one through at a time.
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

// migrateSigningKeyColumns is step 2: the dates of staged rotation, and
// the flag telling a sealed private key from one an earlier release wrote
// in the clear. Existing rows get sealed = false, which is what they are;
// Keys.ListSigningKeys seals them (the migration has no key-encryption
// key). Each column is added only if missing, so the step can repeat.
func migrateSigningKeyColumns(db *gorm.DB) error {
	columns := []struct{ name, ddl string }{
		{"activated_at", "ALTER TABLE sigil_signing_keys ADD COLUMN activated_at BIGINT"},
		{"retired_at", "ALTER TABLE sigil_signing_keys ADD COLUMN retired_at BIGINT"},
		{"sealed", "ALTER TABLE sigil_signing_keys ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT false"},
	}
	for _, c := range columns {
		if db.Migrator().HasColumn(&signingKeyRowV1{}, c.name) {
			continue
		}
		if err := db.Exec(c.ddl).Error; err != nil {
			return fmt.Errorf("add column %s: %w", c.name, err)
		}
	}
	return nil
}

// createLockTable is step 3, the leases of Locker on SQLite (PostgreSQL
// uses advisory locks, but keeps the same schema). SQLite's Migrate also
// runs it before taking its own lease.
func createLockTable(db *gorm.DB) error {
	err := db.Exec(`CREATE TABLE IF NOT EXISTS sigil_locks (
		name TEXT PRIMARY KEY,
		holder TEXT NOT NULL,
		expires_at BIGINT NOT NULL
	)`).Error
	if err != nil {
		return fmt.Errorf("create sigil_locks: %w", err)
	}
	return nil
}

// createClientRevocationTable holds, per client, the time up to which its
// tokens are revoked (see ClientRevocations). It has no foreign key to
// sigil_clients on purpose: a deleted client's tokens stay revoked.
func createClientRevocationTable(db *gorm.DB) error {
	err := db.Exec(`CREATE TABLE IF NOT EXISTS sigil_client_revocations (
		client_id TEXT PRIMARY KEY,
		revoked_before BIGINT NOT NULL
	)`).Error
	if err != nil {
		return fmt.Errorf("create sigil_client_revocations: %w", err)
	}
	return nil
}

// migrateDPoPColumns is step 5: the DPoP key an opaque token is bound to
// (RFC 9449 §6.2), and a client's dpop_bound_access_tokens (§5.2). The
// baseline creates both on a new database, since it migrates the current
// rows; each is added only if missing, so the step can repeat. Existing
// rows are bearer tokens and clients that may go without DPoP, which is
// what the defaults say.
func migrateDPoPColumns(db *gorm.DB) error {
	return addColumns(db, []column{
		{&tokenRow{}, "jkt", "ALTER TABLE sigil_opaque_tokens ADD COLUMN jkt TEXT NOT NULL DEFAULT ''"},
		{&clientRow{}, "dpop_bound_access_tokens", "ALTER TABLE sigil_clients ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT false"},
	})
}

// migrateMTLSColumns is step 6: the certificate an opaque token is bound
// to (RFC 8705 §3), and a client's tls_client_auth subject (§2.1.2) and
// tls_client_certificate_bound_access_tokens (§3.4), and its security
// profile (FAPI 2.0). As in step 5, each
// column is added only if missing, and the defaults say what existing
// rows are: unbound tokens, clients without mutual TLS.
func migrateMTLSColumns(db *gorm.DB) error {
	return addColumns(db, []column{
		{&tokenRow{}, "x5t_s256", "ALTER TABLE sigil_opaque_tokens ADD COLUMN x5t_s256 TEXT NOT NULL DEFAULT ''"},
		{&clientRow{}, "tls_subject_kind", "ALTER TABLE sigil_clients ADD COLUMN tls_subject_kind TEXT NOT NULL DEFAULT ''"},
		{&clientRow{}, "tls_subject", "ALTER TABLE sigil_clients ADD COLUMN tls_subject TEXT NOT NULL DEFAULT ''"},
		{&clientRow{}, "tls_client_certificate_bound_access_tokens", "ALTER TABLE sigil_clients ADD COLUMN tls_client_certificate_bound_access_tokens BOOLEAN NOT NULL DEFAULT false"},
		{&clientRow{}, "profile", "ALTER TABLE sigil_clients ADD COLUMN profile TEXT NOT NULL DEFAULT ''"},
	})
}

// column is one column a step adds to an existing table, by its DDL.
type column struct {
	model any
	name  string
	ddl   string
}

// addColumns adds each column that is missing, so that a step can repeat
// and the baseline (which creates the current rows on a new database)
// need not be told apart from an old one.
func addColumns(db *gorm.DB, columns []column) error {
	for _, c := range columns {
		if db.Migrator().HasColumn(c.model, c.name) {
			continue
		}
		if err := db.Exec(c.ddl).Error; err != nil {
			return fmt.Errorf("add column %s: %w", c.name, err)
		}
	}
	return nil
}

// createRegistrationTable holds the dynamic registrations (RFC 7591,
// 7592; see Registrations). No foreign key to sigil_clients: the client
// is deleted through the admin use case, then its registration.
func createRegistrationTable(db *gorm.DB) error {
	err := db.Exec(`CREATE TABLE IF NOT EXISTS sigil_client_registrations (
		client_id TEXT PRIMARY KEY,
		token_hash TEXT NOT NULL,
		client_name TEXT NOT NULL,
		issued_at BIGINT NOT NULL
	)`).Error
	if err != nil {
		return fmt.Errorf("create sigil_client_registrations: %w", err)
	}
	return nil
}

// migrateTokenExchange is step 8 (RFC 8693): the clients' exchange
// policy, the act and parent of exchanged opaque tokens, and the ledger of
// exchanges (see Exchanges).
func migrateTokenExchange(db *gorm.DB) error {
	err := addColumns(db, []column{
		{&clientRow{}, "token_exchange", "ALTER TABLE sigil_clients ADD COLUMN token_exchange TEXT NOT NULL DEFAULT ''"},
		{&tokenRow{}, "act", "ALTER TABLE sigil_opaque_tokens ADD COLUMN act TEXT NOT NULL DEFAULT ''"},
		{&tokenRow{}, "parent_jti", "ALTER TABLE sigil_opaque_tokens ADD COLUMN parent_jti TEXT NOT NULL DEFAULT ''"},
	})
	if err != nil {
		return err
	}
	for _, ddl := range []string{
		`CREATE TABLE IF NOT EXISTS sigil_token_exchanges (
			parent_jti TEXT NOT NULL,
			child_jti TEXT NOT NULL,
			expires_at BIGINT NOT NULL,
			PRIMARY KEY (parent_jti, child_jti)
		)`,
		`CREATE INDEX IF NOT EXISTS idx_sigil_token_exchanges_expires_at ON sigil_token_exchanges (expires_at)`,
	} {
		if err := db.Exec(ddl).Error; err != nil {
			return fmt.Errorf("create sigil_token_exchanges: %w", err)
		}
	}
	return nil
}

// createFederatedIssuerTable is step 9: the trust relationships managed
// through the admin API (see FederatedIssuers), each entry as JSON.
func createFederatedIssuerTable(db *gorm.DB) error {
	err := db.Exec(`CREATE TABLE IF NOT EXISTS sigil_federated_issuers (
		issuer TEXT PRIMARY KEY,
		entry TEXT NOT NULL,
		updated_at BIGINT NOT NULL
	)`).Error
	if err != nil {
		return fmt.Errorf("create sigil_federated_issuers: %w", err)
	}
	return nil
}
