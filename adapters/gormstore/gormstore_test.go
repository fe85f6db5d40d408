package gormstore_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
	"github.com/sigilauth/sigil/test/testenv"
)

// What the port contracts check is in test/contract; these tests cover
// what only a SQL store has: its rows, its migration, its housekeeping.

type backend struct {
	name       string
	migrated   func(testing.TB) *gorm.DB
	unmigrated func(testing.TB) *gorm.DB
}

var backends = []backend{
	{"sqlite", testenv.SQLite, testenv.SQLiteUnmigrated},
	{"postgres", testenv.Postgres, testenv.PostgresUnmigrated},
}

// rawRows reads every row of table as text, bypassing the adapter.
func rawRows(t *testing.T, db *gorm.DB, table string) []map[string]string {
	t.Helper()
	rows, err := db.Raw("SELECT * FROM " + table).Rows()
	if err != nil {
		t.Fatalf("select from %s: %v", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := map[string]string{}
		for i, c := range cols {
			switch v := vals[i].(type) {
			case []byte:
				row[c] = string(v)
			case nil:
				row[c] = ""
			default:
				row[c] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func countRows(t *testing.T, db *gorm.DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.Table(table).Count(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestOpenRejectsAnUnknownDriver(t *testing.T) {
	_, err := gormstore.Open("mysql", "user@/db", nil)
	if err == nil {
		t.Fatal("Open(mysql) succeeded, want an error")
	}
	for _, want := range []string{`"mysql"`, `"sqlite"`, `"postgres"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open(mysql) error %q does not name %s", err, want)
		}
	}
}

func TestOpenSQLiteTunesTheConnection(t *testing.T) {
	pragma := func(t *testing.T, db *gorm.DB, name string) string {
		t.Helper()
		var v string
		if err := db.Raw("PRAGMA " + name).Scan(&v).Error; err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	open := func(t *testing.T, dsn string) *gorm.DB {
		t.Helper()
		db, err := gormstore.Open("sqlite", dsn, nil)
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

	db := open(t, filepath.Join(t.TempDir(), "sigil.db"))
	for name, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000"} {
		if got := pragma(t, db, name); got != want {
			t.Errorf("PRAGMA %s = %s, want %s", name, got, want)
		}
	}

	t.Run("a pragma the operator set wins", func(t *testing.T) {
		db := open(t, filepath.Join(t.TempDir(), "sigil.db")+"?_pragma=busy_timeout(250)")
		if got := pragma(t, db, "busy_timeout"); got != "250" {
			t.Errorf("PRAGMA busy_timeout = %s, want the operator's 250", got)
		}
	})
}

func TestOpenLogsFailingStatementsWithoutSQLOrValuesAndNeverAtError(t *testing.T) {
	dsns := map[string]func(*testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "sigil.db") },
		"postgres": func(t *testing.T) string { return testenv.PostgresDSN(t) },
	}
	for driver, dsn := range dsns {
		t.Run(driver, func(t *testing.T) {
			var logs bytes.Buffer
			db, err := gormstore.Open(driver, dsn(t), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer func() {
				if sqlDB, err := db.DB(); err == nil {
					sqlDB.Close()
				}
			}()
			const secret = "s3cret-client-hash"
			if err := db.Exec("INSERT INTO no_such_table (secret) VALUES (?)", secret).Error; err == nil {
				t.Fatal("insert into a missing table succeeded")
			}
			out := logs.String()
			if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "no_such_table") {
				t.Errorf("the failing statement was not logged at debug: %q", out)
			}
			if strings.Contains(out, "level=ERROR") || strings.Contains(out, "INSERT") {
				t.Errorf("a failing statement was logged at error or with its SQL: %q", out)
			}
			if strings.Contains(out, secret) {
				t.Errorf("the log holds a statement's parameter value: %q", out)
			}
		})
	}
}

func TestMigrateSeedsCountriesOnceAndCanRunAgain(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.unmigrated(t)
			if err := gormstore.Migrate(t.Context(), db); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			for _, table := range []string{"sigil_clients", "sigil_client_secrets", "sigil_opaque_tokens", "sigil_signing_keys",
				"sigil_countries", "sigil_denied_jtis", "sigil_used_assertions"} {
				if !db.Migrator().HasTable(table) {
					t.Errorf("table %s missing after Migrate", table)
				}
			}
			if n := countRows(t, db, "sigil_countries"); n != 249 || int(n) != len(domain.ISOCountries()) {
				t.Errorf("countries after Migrate = %d, want all 249", n)
			}
			got, err := gormstore.NewCountries(db).FindCountry(t.Context(), "AUS")
			if err != nil || got.Name != "AUSTRALIA" || got.Alpha2 != "AU" {
				t.Errorf("FindCountry(AUS) = %+v, %v; want AU AUSTRALIA", got, err)
			}

			// Data saved in between survives a second run, and countries an
			// operator removed are not put back.
			clients := gormstore.NewClients(db)
			kept := domain.Client{ID: "kept", Secrets: []domain.ClientSecret{{ID: "s", Hash: "h"}}, TokenFormat: domain.FormatJWT}
			if err := clients.SaveClient(t.Context(), kept); err != nil {
				t.Fatalf("SaveClient: %v", err)
			}
			if err := db.Exec("DELETE FROM sigil_countries WHERE alpha3 = ?", "ATA").Error; err != nil {
				t.Fatalf("delete a country: %v", err)
			}
			if err := gormstore.Migrate(t.Context(), db); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			if n := countRows(t, db, "sigil_countries"); n != 248 {
				t.Errorf("countries after second Migrate = %d, want 248 (ATA stays removed)", n)
			}
			if got, err := clients.FindClient(t.Context(), "kept"); err != nil || len(got.Secrets) != 1 {
				t.Errorf("client saved before the second Migrate = %+v, %v; want it with its secret", got, err)
			}
		})
	}
}

func opaqueToken(now time.Time, lifetime time.Duration) domain.Token {
	return domain.Token{
		Value: rand.Text() + rand.Text(), Format: domain.FormatOpaque, ID: rand.Text(),
		Issuer: "http://localhost:8085/ms-auth-server", Subject: "user-client-opaque", ClientID: "user-client-opaque",
		Scopes: domain.NewScopes("country.read"), Audience: []string{"user-client-opaque"},
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(lifetime),
	}
}

func TestTokensNeverStoreTheValue(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.migrated(t)
			clock := fakes.NewClock(time.Date(2023, 4, 28, 23, 23, 35, 0, time.UTC))
			tok := opaqueToken(clock.Now(), 4*time.Hour)
			if err := gormstore.NewTokens(db, clock).SaveToken(t.Context(), tok); err != nil {
				t.Fatalf("SaveToken: %v", err)
			}

			rows := rawRows(t, db, "sigil_opaque_tokens")
			if len(rows) != 1 {
				t.Fatalf("%d rows stored, want 1", len(rows))
			}
			sum := sha256.Sum256([]byte(tok.Value))
			if got, want := rows[0]["hash"], hex.EncodeToString(sum[:]); got != want {
				t.Errorf("hash column = %q, want the hex SHA-256 of the value %q", got, want)
			}
			for col, v := range rows[0] {
				if strings.Contains(v, tok.Value) || strings.Contains(v, tok.Value[:16]) {
					t.Errorf("column %s holds the token value", col)
				}
			}
		})
	}
}

func TestTokensExpireByTheStoreClock(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.migrated(t)
			clock := fakes.NewClock(time.Date(2023, 4, 28, 23, 23, 35, 0, time.UTC))
			store := gormstore.NewTokens(db, clock)
			tok := opaqueToken(clock.Now(), time.Hour)
			if err := store.SaveToken(t.Context(), tok); err != nil {
				t.Fatalf("SaveToken: %v", err)
			}

			clock.Advance(time.Hour - time.Second)
			if _, err := store.FindToken(t.Context(), tok.Value); err != nil {
				t.Fatalf("FindToken a second before expiry: %v", err)
			}
			clock.Advance(time.Second)
			if _, err := store.FindToken(t.Context(), tok.Value); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("FindToken at expiry error = %v, want domain.ErrNotFound", err)
			}
		})
	}
}

func TestDeleteExpiredRemovesOnlyExpiredTokens(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.migrated(t)
			clock := fakes.NewClock(time.Date(2023, 4, 28, 23, 23, 35, 0, time.UTC))
			store := gormstore.NewTokens(db, clock)
			short := opaqueToken(clock.Now(), time.Minute)
			long := opaqueToken(clock.Now(), 4*time.Hour)
			for _, tok := range []domain.Token{short, long} {
				if err := store.SaveToken(t.Context(), tok); err != nil {
					t.Fatalf("SaveToken: %v", err)
				}
			}

			if n, err := store.DeleteExpired(t.Context()); err != nil || n != 0 {
				t.Errorf("DeleteExpired before any expiry = %d, %v; want 0", n, err)
			}
			clock.Advance(time.Hour)
			if n, err := store.DeleteExpired(t.Context()); err != nil || n != 1 {
				t.Errorf("DeleteExpired = %d, %v; want 1", n, err)
			}
			if n := countRows(t, db, "sigil_opaque_tokens"); n != 1 {
				t.Errorf("%d rows left, want 1", n)
			}
			if _, err := store.FindToken(t.Context(), long.Value); err != nil {
				t.Errorf("FindToken of the unexpired token: %v", err)
			}
			if n, err := store.DeleteExpired(t.Context()); err != nil || n != 0 {
				t.Errorf("second DeleteExpired = %d, %v; want 0", n, err)
			}
		})
	}
}

func TestSaveTokenWithoutExpiryFails(t *testing.T) {
	db := testenv.SQLite(t)
	store := gormstore.NewTokens(db, fakes.NewClock(time.Now()))
	tok := opaqueToken(time.Now(), time.Hour)
	tok.ExpiresAt = time.Time{}
	if err := store.SaveToken(t.Context(), tok); err == nil {
		t.Error("SaveToken of a token without expiry succeeded")
	}
	if n := countRows(t, db, "sigil_opaque_tokens"); n != 0 {
		t.Errorf("%d rows stored, want none", n)
	}
}

func TestStoreErrorsAreNotNotFound(t *testing.T) {
	// A database that is down must not look like an unknown client or an
	// inactive token: the caller has to answer 500, not 401.
	db := testenv.SQLite(t)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.Close()
	if _, err := gormstore.NewClients(db).FindClient(t.Context(), "x"); err == nil || errors.Is(err, domain.ErrNotFound) {
		t.Errorf("FindClient on a closed database error = %v, want a non-not-found error", err)
	}
	if _, err := gormstore.NewTokens(db, fakes.NewClock(time.Now())).FindToken(t.Context(), "x"); err == nil || errors.Is(err, domain.ErrNotFound) {
		t.Errorf("FindToken on a closed database error = %v, want a non-not-found error", err)
	}
	if err := gormstore.NewClients(db).DeleteClient(t.Context(), "x"); err == nil || errors.Is(err, domain.ErrNotFound) {
		t.Errorf("DeleteClient on a closed database error = %v, want a non-not-found error", err)
	}
}

func TestKeysListOldestFirstWhateverTheSaveOrder(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.migrated(t)
			store := gormstore.NewKeys(db, newBox(t))
			var gen fakes.KeyGenerator
			created := time.Date(2023, 4, 28, 0, 0, 0, 0, time.UTC)
			// Saved newest first; kids chosen so their order is not the age order.
			for i, kid := range []string{"a-newest", "c-middle", "b-oldest"} {
				k, err := gen.GenerateSigningKey(domain.RS256)
				if err != nil {
					t.Fatal(err)
				}
				k.ID, k.State, k.CreatedAt = kid, domain.KeyPublished, created.Add(-time.Duration(i)*time.Hour)
				if err := store.SaveSigningKey(t.Context(), k); err != nil {
					t.Fatalf("SaveSigningKey: %v", err)
				}
			}
			keys, err := store.ListSigningKeys(t.Context())
			if err != nil {
				t.Fatalf("ListSigningKeys: %v", err)
			}
			var got []string
			for _, k := range keys {
				got = append(got, k.ID)
			}
			if want := []string{"b-oldest", "c-middle", "a-newest"}; strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("ListSigningKeys kids = %v, want %v", got, want)
			}
		})
	}
}

func TestSaveSigningKeyWithoutPrivateKeyFails(t *testing.T) {
	db := testenv.SQLite(t)
	k := domain.SigningKey{ID: "empty", Algorithm: domain.RS256, State: domain.KeyActive, CreatedAt: time.Now()}
	if err := gormstore.NewKeys(db, newBox(t)).SaveSigningKey(t.Context(), k); err == nil {
		t.Error("SaveSigningKey without a private key succeeded")
	}
}

func TestSaveClientRefusesAListElementThatWouldSplit(t *testing.T) {
	db := testenv.SQLite(t)
	clients := gormstore.NewClients(db)
	c := domain.Client{ID: "odd", AllowedScopes: domain.Scopes{"country.read customer.read"}, TokenFormat: domain.FormatJWT}
	if err := clients.SaveClient(t.Context(), c); err == nil {
		t.Error("SaveClient with a scope holding a space succeeded; it would come back as two scopes")
	}
	if _, err := clients.FindClient(t.Context(), "odd"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("FindClient after the refused save error = %v, want domain.ErrNotFound", err)
	}
}

func TestDenyListAndReplayGuardErrorsAreErrors(t *testing.T) {
	// A database that is down must neither let a revoked token through as
	// not denied nor pass a replayed assertion as first used.
	db := testenv.SQLite(t)
	closeDB(db)
	clock := fakes.NewClock(time.Now())
	if _, err := gormstore.NewDenyList(db, clock).IsDenied(t.Context(), "jti"); err == nil {
		t.Error("IsDenied on a closed database succeeded")
	}
	if err := gormstore.NewDenyList(db, clock).Deny(t.Context(), "jti", clock.Now().Add(time.Hour)); err == nil {
		t.Error("Deny on a closed database succeeded")
	}
	if _, err := gormstore.NewReplayGuard(db, clock).FirstUse(t.Context(), "id", clock.Now().Add(time.Hour)); err == nil {
		t.Error("FirstUse on a closed database succeeded")
	}
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}
