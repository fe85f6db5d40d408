package gormstore_test

import (
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// TestMigrateAddsTheDPoPColumns takes a database of the release before
// DPoP (steps 1 to 4, without the two columns) with a client and a token
// in it through step 5: both read back as before, a bearer token and a
// client that may go without DPoP, and new ones keep their binding.
func TestMigrateAddsTheDPoPColumns(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *gorm.DB{"sqlite": testenv.SQLite, "postgres": testenv.Postgres} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := t.Context()
			clients := gormstore.NewClients(db)
			tokens := gormstore.NewTokens(db, application.SystemClock{})
			old := domain.Client{ID: "old", TokenFormat: domain.FormatOpaque}
			if err := clients.SaveClient(ctx, old); err != nil {
				t.Fatal(err)
			}
			tok := domain.Token{Value: "old-token", Format: domain.FormatOpaque, ClientID: "old", ExpiresAt: time.Now().Add(time.Hour)}
			if err := tokens.SaveToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				"ALTER TABLE sigil_opaque_tokens DROP COLUMN jkt",
				"ALTER TABLE sigil_clients DROP COLUMN dpop_bound_access_tokens",
				"DELETE FROM sigil_schema_migrations WHERE version = 5",
			} {
				if err := db.Exec(q).Error; err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}

			if err := gormstore.Migrate(ctx, db); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if c, err := clients.FindClient(ctx, "old"); err != nil || c.DPoPBound {
				t.Errorf("old client: %v, DPoPBound %v", err, c.DPoPBound)
			}
			if got, err := tokens.FindToken(ctx, "old-token"); err != nil || got.JKT != "" {
				t.Errorf("old token: %v, JKT %q", err, got.JKT)
			}
			bound := domain.Client{ID: "new", TokenFormat: domain.FormatOpaque, DPoPBound: true}
			if err := clients.SaveClient(ctx, bound); err != nil {
				t.Fatal(err)
			}
			if c, err := clients.FindClient(ctx, "new"); err != nil || !c.DPoPBound {
				t.Errorf("new client: %v, DPoPBound %v", err, c.DPoPBound)
			}
			tok.Value, tok.JKT = "new-token", "jkt"
			if err := tokens.SaveToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if got, err := tokens.FindToken(ctx, "new-token"); err != nil || got.JKT != "jkt" {
				t.Errorf("new token: %v, JKT %q", err, got.JKT)
			}
		})
	}
}
