package gormstore_test

import (
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// allSteps are the versions this release's Migrate applies.
var allSteps = []int{1, 2, 3, 4, 5, 6, 7, 8, 9}

func appliedMigrations(t *testing.T, db *gorm.DB) []int {
	t.Helper()
	got, err := gormstore.AppliedMigrations(t.Context(), db)
	if err != nil {
		t.Fatalf("AppliedMigrations: %v", err)
	}
	return got
}

type stepRecord struct {
	Version   int
	Name      string
	AppliedAt int64
}

func stepRecords(t *testing.T, db *gorm.DB) []stepRecord {
	t.Helper()
	var recs []stepRecord
	if err := db.Raw("SELECT version, name, applied_at FROM sigil_schema_migrations ORDER BY version").Scan(&recs).Error; err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestMigrateAppliesAndRecordsEachStepOnce(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.unmigrated(t)
			if got := appliedMigrations(t, db); len(got) != 0 {
				t.Fatalf("AppliedMigrations of an empty database = %v, want none", got)
			}
			if err := gormstore.Migrate(t.Context(), db); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if got := appliedMigrations(t, db); !slices.Equal(got, allSteps) {
				t.Fatalf("AppliedMigrations = %v, want %v", got, allSteps)
			}
			first := stepRecords(t, db)
			for _, r := range first {
				if r.Name == "" || r.AppliedAt == 0 {
					t.Errorf("step %d recorded without a name or time: %+v", r.Version, r)
				}
			}
			for _, col := range []string{"activated_at", "retired_at", "sealed"} {
				if !db.Migrator().HasColumn("sigil_signing_keys", col) {
					t.Errorf("sigil_signing_keys.%s missing after Migrate", col)
				}
			}
			if !db.Migrator().HasTable("sigil_locks") {
				t.Error("sigil_locks missing after Migrate")
			}

			if err := gormstore.Migrate(t.Context(), db); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			if again := stepRecords(t, db); !slices.Equal(again, first) {
				t.Errorf("records after a second Migrate = %+v, want them untouched: %+v", again, first)
			}
		})
	}
}

func TestMigrateFromNodesStartingAtOnceAppliesEachStepOnce(t *testing.T) {
	targets := map[string]func(t *testing.T) (driver, dsn string){
		"sqlite": func(t *testing.T) (string, string) {
			return gormstore.DriverSQLite, filepath.Join(t.TempDir(), "sigil.db")
		},
		"postgres": func(t *testing.T) (string, string) { return gormstore.DriverPostgres, testenv.PostgresDSN(t) },
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			driver, dsn := target(t)
			// Each node has its own pool, as separate processes would.
			var nodes []*gorm.DB
			for range 4 {
				db, err := gormstore.Open(driver, dsn, nil)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				t.Cleanup(func() { closeDB(db) })
				nodes = append(nodes, db)
			}
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
			)
			for i, db := range nodes {
				wg.Go(func() {
					<-start
					if err := gormstore.Migrate(t.Context(), db); err != nil {
						t.Errorf("node %d: Migrate: %v", i, err)
					}
				})
			}
			close(start)
			wg.Wait()
			if got := appliedMigrations(t, nodes[0]); !slices.Equal(got, allSteps) {
				t.Errorf("AppliedMigrations = %v, want %v", got, allSteps)
			}
			if n := countRows(t, nodes[0], "sigil_countries"); int(n) != len(domain.ISOCountries()) {
				t.Errorf("%d countries after concurrent migrations, want %d", n, len(domain.ISOCountries()))
			}
			if n := countRows(t, nodes[0], "sigil_locks"); n != 0 {
				t.Errorf("%d leases left in sigil_locks after the migrations, want none", n)
			}
		})
	}
}

func TestMigrateAdoptsADatabaseOfTheReleaseBeforeVersioning(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.migrated(t)
			clients := gormstore.NewClients(db)
			kept := domain.Client{ID: "kept", Secrets: []domain.ClientSecret{{ID: "s", Hash: "h"}}, TokenFormat: domain.FormatJWT}
			if err := clients.SaveClient(t.Context(), kept); err != nil {
				t.Fatal(err)
			}
			if err := db.Exec("DELETE FROM sigil_countries WHERE alpha3 = 'ATA'").Error; err != nil {
				t.Fatal(err)
			}
			unversion(t, db)
			if got := appliedMigrations(t, db); len(got) != 0 {
				t.Fatalf("AppliedMigrations of the unversioned database = %v, want none", got)
			}

			if err := gormstore.Migrate(t.Context(), db); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if got := appliedMigrations(t, db); !slices.Equal(got, allSteps) {
				t.Errorf("AppliedMigrations = %v, want %v", got, allSteps)
			}
			if got, err := clients.FindClient(t.Context(), "kept"); err != nil || len(got.Secrets) != 1 {
				t.Errorf("client of the earlier release = %+v, %v; want it with its secret", got, err)
			}
			if n := countRows(t, db, "sigil_countries"); n != 248 {
				t.Errorf("%d countries, want 248: the one the operator removed stays removed", n)
			}
		})
	}
}

func TestMigrateRefusesASchemaOfANewerRelease(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.migrated(t)
			if err := db.Exec("INSERT INTO sigil_schema_migrations (version, name, applied_at) VALUES (99, 'from the future', 1)").Error; err != nil {
				t.Fatal(err)
			}
			err := gormstore.Migrate(t.Context(), db)
			if err == nil || !strings.Contains(err.Error(), "99") {
				t.Errorf("Migrate over a schema at version 99 = %v, want an error naming 99", err)
			}
		})
	}
}
