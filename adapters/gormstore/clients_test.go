package gormstore_test

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// round1Clients is sigil_clients as the first release created it, in each
// engine's dialect (what Gorm's AutoMigrate wrote): one secret hash per
// client, NOT NULL.
var round1Clients = map[string]string{
	"sqlite": "CREATE TABLE `sigil_clients` (`id` text,`secret_hash` text NOT NULL,`auth_methods` text NOT NULL," +
		"`grant_types` text NOT NULL,`allowed_scopes` text NOT NULL,`default_scopes` text NOT NULL,`audience` text NOT NULL," +
		"`token_format` text NOT NULL,`token_lifetime_seconds` integer NOT NULL,`can_introspect` numeric NOT NULL,PRIMARY KEY (`id`))",
	"postgres": `CREATE TABLE "sigil_clients" ("id" text,"secret_hash" text NOT NULL,"auth_methods" text NOT NULL,` +
		`"grant_types" text NOT NULL,"allowed_scopes" text NOT NULL,"default_scopes" text NOT NULL,"audience" text NOT NULL,` +
		`"token_format" text NOT NULL,"token_lifetime_seconds" bigint NOT NULL,"can_introspect" boolean NOT NULL,PRIMARY KEY ("id"))`,
}

func TestMigrateCarriesAFirstReleaseDatabaseForward(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.unmigrated(t)
			if err := db.Exec(round1Clients[b.name]).Error; err != nil {
				t.Fatalf("create the first release's table: %v", err)
			}
			const oldHash = "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA"
			err := db.Exec(`INSERT INTO sigil_clients (id, secret_hash, auth_methods, grant_types, allowed_scopes,
				default_scopes, audience, token_format, token_lifetime_seconds, can_introspect)
				VALUES ('service-client-jwt', ?, 'client_secret_basic client_secret_post', 'client_credentials',
				'country.read customer.read', 'country.read', '', 'jwt', 14400, true)`, oldHash).Error
			if err != nil {
				t.Fatalf("insert a first-release client: %v", err)
			}

			if err := gormstore.Migrate(t.Context(), db); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if db.Migrator().HasColumn("sigil_clients", "secret_hash") {
				t.Error("sigil_clients.secret_hash is still there after Migrate")
			}

			// The old client still authenticates with the secret it had.
			clients := gormstore.NewClients(db)
			old, err := clients.FindClient(t.Context(), "service-client-jwt")
			if err != nil {
				t.Fatalf("FindClient of the first-release client: %v", err)
			}
			wantSecrets := []domain.ClientSecret{{ID: "migrated", Hash: oldHash}}
			if !slices.EqualFunc(old.Secrets, wantSecrets, sameSecret) {
				t.Errorf("Secrets = %+v, want %+v", old.Secrets, wantSecrets)
			}
			if !slices.Equal(old.AllowedScopes, domain.NewScopes("country.read", "customer.read")) || old.TokenLifetime != 4*time.Hour || !old.CanIntrospect {
				t.Errorf("first-release client came back as %+v", old)
			}

			// New clients, with every new field, are saved and found.
			c := domain.Client{
				ID: "new", TokenFormat: domain.FormatOpaque,
				Secrets:   []domain.ClientSecret{{ID: "a", Hash: "h", Sealed: []byte{1, 2}, ExpiresAt: time.Unix(1_900_000_000, 0)}},
				Resources: []string{"https://api.example.com"}, JWKS: `{"keys":[]}`,
			}
			if err := clients.SaveClient(t.Context(), c); err != nil {
				t.Fatalf("SaveClient after Migrate: %v", err)
			}
			got, err := clients.FindClient(t.Context(), "new")
			if err != nil || !slices.EqualFunc(got.Secrets, c.Secrets, sameSecret) || got.JWKS != c.JWKS || !slices.Equal(got.Resources, c.Resources) {
				t.Errorf("FindClient after Migrate = %+v, %v; want %+v", got, err, c)
			}

			// And a second Migrate finds nothing left to do.
			if err := gormstore.Migrate(t.Context(), db); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			if n := countRows(t, db, "sigil_client_secrets"); n != 2 {
				t.Errorf("%d secrets after the second Migrate, want 2", n)
			}
		})
	}
}

func TestMigrateOfAFirstReleaseDatabaseOnTwoNodesAtOnce(t *testing.T) {
	// Two PostgreSQL nodes starting together both find the old column;
	// both must start, and the hash must be moved once.
	dsn := testenv.PostgresDSN(t)
	open := func() *gorm.DB {
		db, err := gormstore.Open(gormstore.DriverPostgres, dsn, nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			if sqlDB, err := db.DB(); err == nil {
				sqlDB.Close()
			}
		})
		return db
	}
	nodes := []*gorm.DB{open(), open()}
	if err := nodes[0].Exec(round1Clients["postgres"]).Error; err != nil {
		t.Fatalf("create the first release's table: %v", err)
	}
	err := nodes[0].Exec(`INSERT INTO sigil_clients VALUES ('c', 'old-hash', 'client_secret_basic', 'client_credentials', '', '', '', 'jwt', 0, false)`).Error
	if err != nil {
		t.Fatalf("insert a first-release client: %v", err)
	}

	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, db := range nodes {
		wg.Go(func() { errs[i] = gormstore.Migrate(t.Context(), db) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate on node %d: %v", i, err)
		}
	}
	got, err := gormstore.NewClients(nodes[1]).FindClient(t.Context(), "c")
	if want := []domain.ClientSecret{{ID: "migrated", Hash: "old-hash"}}; err != nil || !slices.EqualFunc(got.Secrets, want, sameSecret) {
		t.Errorf("FindClient = %+v, %v; want secrets %+v", got, err, want)
	}
}

func TestSealedSecretsAreStoredAsGiven(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.migrated(t)
			// Not UTF-8, with NUL bytes: a text column or a careless
			// encoding would change it.
			sealed := []byte{0x00, 0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, '\\', 'x', '0', '0'}
			c := domain.Client{ID: "jwt-client", TokenFormat: domain.FormatJWT, Secrets: []domain.ClientSecret{
				{ID: "sealed", Hash: "h1", Sealed: sealed},
				{ID: "plain", Hash: "h2"},
			}}
			if err := gormstore.NewClients(db).SaveClient(t.Context(), c); err != nil {
				t.Fatalf("SaveClient: %v", err)
			}
			var got []byte
			if err := db.Raw("SELECT sealed FROM sigil_client_secrets WHERE id = ?", "sealed").Row().Scan(&got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, sealed) {
				t.Errorf("sealed column = %x, want the bytes given %x", got, sealed)
			}
			var plain []byte
			if err := db.Raw("SELECT sealed FROM sigil_client_secrets WHERE id = ?", "plain").Row().Scan(&plain); err != nil {
				t.Fatal(err)
			}
			if plain != nil {
				t.Errorf("sealed column of a secret without a sealed copy = %x, want NULL", plain)
			}
		})
	}
}

func TestSecretsGoWithTheirClientRow(t *testing.T) {
	// An operator deleting a client by hand must not leave its secrets
	// behind for a client registered later under the same id.
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.migrated(t)
			clients := gormstore.NewClients(db)
			c := domain.Client{ID: "c", TokenFormat: domain.FormatJWT, Secrets: []domain.ClientSecret{{ID: "a", Hash: "h"}, {ID: "b", Hash: "h"}}}
			if err := clients.SaveClient(t.Context(), c); err != nil {
				t.Fatalf("SaveClient: %v", err)
			}
			if err := db.Exec("DELETE FROM sigil_clients WHERE id = ?", "c").Error; err != nil {
				t.Fatalf("delete the client row: %v", err)
			}
			if n := countRows(t, db, "sigil_client_secrets"); n != 0 {
				t.Errorf("%d secrets left after their client's row was deleted, want 0", n)
			}
		})
	}
}

func TestSaveClientRefusesTwoSecretsWithOneID(t *testing.T) {
	db := testenv.SQLite(t)
	clients := gormstore.NewClients(db)
	c := domain.Client{ID: "c", TokenFormat: domain.FormatJWT, Secrets: []domain.ClientSecret{{ID: "a", Hash: "h1"}, {ID: "a", Hash: "h2"}}}
	if err := clients.SaveClient(t.Context(), c); err == nil {
		t.Error("SaveClient with two secrets named a succeeded")
	}
	if _, err := clients.FindClient(t.Context(), "c"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("FindClient after the refused save error = %v, want domain.ErrNotFound", err)
	}
}

func TestAFailedSaveLeavesTheClientAsItWas(t *testing.T) {
	// The client row and its secrets are written in one transaction: a
	// secret the database refuses must not leave the row updated and the
	// secrets gone.
	db := testenv.SQLite(t)
	clients := gormstore.NewClients(db)
	before := domain.Client{ID: "c", TokenFormat: domain.FormatJWT, CanIntrospect: true, Secrets: []domain.ClientSecret{{ID: "a", Hash: "h"}}}
	if err := clients.SaveClient(t.Context(), before); err != nil {
		t.Fatalf("SaveClient: %v", err)
	}
	if err := db.Exec(`CREATE TRIGGER refuse_bad BEFORE INSERT ON sigil_client_secrets
		WHEN NEW.hash = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END`).Error; err != nil {
		t.Fatal(err)
	}
	after := domain.Client{ID: "c", TokenFormat: domain.FormatOpaque, Secrets: []domain.ClientSecret{{ID: "b", Hash: "bad"}}}
	if err := clients.SaveClient(t.Context(), after); err == nil {
		t.Fatal("SaveClient succeeded despite the refused secret")
	}
	got, err := clients.FindClient(t.Context(), "c")
	if err != nil {
		t.Fatalf("FindClient: %v", err)
	}
	if got.TokenFormat != before.TokenFormat || !slices.EqualFunc(got.Secrets, before.Secrets, sameSecret) {
		t.Errorf("after a failed save the client is %+v, want it unchanged %+v", got, before)
	}
}

func sameSecret(a, b domain.ClientSecret) bool {
	return a.ID == b.ID && a.Hash == b.Hash && bytes.Equal(a.Sealed, b.Sealed) && a.ExpiresAt.Equal(b.ExpiresAt)
}
