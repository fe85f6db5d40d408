package gormstore_test

import (
	"strings"
	"testing"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

func TestMigrateChangingAClientColumnKeepsTheSecrets(t *testing.T) {
	// SQLite changes a column's type by copying the table and dropping the
	// old one. With foreign keys on, that drop would cascade to every
	// client's secrets. The SQLite driver turns them off for the change
	// (glebarez/sqlite's AlterColumn), which SQLite ignores inside a
	// transaction; this test keeps Migrate from running the steps in one,
	// through upgrades of the driver or of Migrate.
	db := testenv.SQLite(t)
	clients := gormstore.NewClients(db)
	c := domain.Client{ID: "c", TokenFormat: domain.FormatJWT, Secrets: []domain.ClientSecret{{ID: "a", Hash: "h1"}, {ID: "b", Hash: "h2"}}}
	if err := clients.SaveClient(t.Context(), c); err != nil {
		t.Fatalf("SaveClient: %v", err)
	}
	// Give jwks_uri another type, as an older or newer release might
	// have, so that Migrate has a column to change.
	for _, q := range []string{
		"PRAGMA foreign_keys = OFF",
		"CREATE TABLE sigil_clients_x AS SELECT * FROM sigil_clients",
		"DROP TABLE sigil_clients",
		"CREATE TABLE `sigil_clients` (`id` text,`auth_methods` text NOT NULL,`grant_types` text NOT NULL," +
			"`allowed_scopes` text NOT NULL,`default_scopes` text NOT NULL,`audience` text NOT NULL," +
			"`resources` text NOT NULL DEFAULT '',`jwks` text NOT NULL DEFAULT '',`jwks_uri` blob NOT NULL DEFAULT ''," +
			"`token_format` text NOT NULL,`token_lifetime_seconds` integer NOT NULL,`can_introspect` numeric NOT NULL,PRIMARY KEY (`id`))",
		"INSERT INTO sigil_clients SELECT id, auth_methods, grant_types, allowed_scopes, default_scopes, audience, resources, jwks, jwks_uri, token_format, token_lifetime_seconds, can_introspect FROM sigil_clients_x",
		"DROP TABLE sigil_clients_x",
		"PRAGMA foreign_keys = ON",
	} {
		if err := db.Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if n := countRows(t, db, "sigil_client_secrets"); n != 2 {
		t.Fatalf("%d secrets before Migrate, want 2", n)
	}
	// Only step 1 changes columns by comparing the tables with the row
	// types, and it runs on a database that has not recorded it: one left
	// by a release before versioned migrations.
	if err := db.Exec("DROP TABLE sigil_schema_migrations").Error; err != nil {
		t.Fatal(err)
	}

	if err := gormstore.Migrate(t.Context(), db); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	var typ string
	if err := db.Raw("SELECT type FROM pragma_table_info('sigil_clients') WHERE name = 'jwks_uri'").Row().Scan(&typ); err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(typ, "text") {
		t.Fatalf("jwks_uri is %s after Migrate: the test changed no column", typ)
	}
	if n := countRows(t, db, "sigil_client_secrets"); n != 2 {
		t.Errorf("%d secrets after Migrate changed a column of sigil_clients, want 2", n)
	}
	var fk int
	if err := db.Raw("PRAGMA foreign_keys").Row().Scan(&fk); err != nil || fk != 1 {
		t.Errorf("PRAGMA foreign_keys = %d, %v after Migrate; want 1", fk, err)
	}
}
