package gormstore_test

import (
	"crypto/rand"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// The benchmarks below measure the SQL stores on the auth node's hot paths,
// on each backend the tests use: SQLite in a file of its own, as the
// embedded default keeps it, and PostgreSQL in a schema of its own. Like
// the tests, they fail rather than skip when PostgreSQL is unreachable.
// Each call is checked, so a figure never measures a failing query.
//
//	go test -run '^$' -bench . -benchmem ./adapters/gormstore/

// BenchmarkTokens measures the opaque-token store, which keeps the tokens
// when Sigil runs without Redis: the token endpoint saves one per opaque
// token issued and the introspection endpoint finds it.
func BenchmarkTokens(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name+"/save", func(b *testing.B) {
			db := be.migrated(b)
			store := gormstore.NewTokens(db, application.SystemClock{})
			// Whole microseconds, the precision the store keeps times in.
			tok := opaqueToken(time.Now().Truncate(time.Microsecond), 4*time.Hour)
			var saved int64
			b.ReportAllocs()
			for b.Loop() {
				// A fresh value each time, so every call inserts a row as
				// the token endpoint does; rand.Text is one small
				// allocation of the figure.
				tok.Value = rand.Text()
				if err := store.SaveToken(b.Context(), tok); err != nil {
					b.Fatal(err)
				}
				saved++
			}
			if n := tokenRows(b, db); n != saved {
				b.Fatalf("%d rows after %d saves, want one per save", n, saved)
			}
			if _, err := store.FindToken(b.Context(), tok.Value); err != nil {
				b.Fatalf("FindToken of the last token saved: %v", err)
			}
		})
		b.Run(be.name+"/find", func(b *testing.B) {
			db := be.migrated(b)
			store := gormstore.NewTokens(db, application.SystemClock{})
			// Whole microseconds, the precision the store keeps times in.
			tok := opaqueToken(time.Now().Truncate(time.Microsecond), 4*time.Hour)
			if err := store.SaveToken(b.Context(), tok); err != nil {
				b.Fatal(err)
			}
			// Other tokens in the table, so the lookup goes through the
			// primary key's index rather than reading the only row there is.
			for range 1000 {
				if err := store.SaveToken(b.Context(), opaqueToken(time.Now(), 4*time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				got, err := store.FindToken(b.Context(), tok.Value)
				if err != nil {
					b.Fatal(err)
				}
				if got.ID != tok.ID || got.ClientID != tok.ClientID || !got.ExpiresAt.Equal(tok.ExpiresAt) {
					b.Fatalf("FindToken = %+v, want %+v", got, tok)
				}
			}
		})
	}
}

// BenchmarkFindClient measures the read of one client with its secrets,
// which the auth node makes when a client is not in its client cache.
func BenchmarkFindClient(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := be.migrated(b)
			clients := gormstore.NewClients(db)
			// Both demo clients, each with a hash shaped as secrethash
			// writes one, so the join has another client's rows to pass.
			var want domain.Client
			for i, d := range application.DemoClients() {
				c := d.Client
				c.Secrets = []domain.ClientSecret{{ID: "demo", Hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"}}
				if err := clients.SaveClient(b.Context(), c); err != nil {
					b.Fatal(err)
				}
				if i == 0 {
					want = c
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				got, err := clients.FindClient(b.Context(), want.ID)
				if err != nil {
					b.Fatal(err)
				}
				if got.ID != want.ID || len(got.Secrets) != 1 || got.Secrets[0].Hash != want.Secrets[0].Hash ||
					len(got.AllowedScopes) != len(want.AllowedScopes) || got.TokenFormat != want.TokenFormat {
					b.Fatalf("FindClient = %+v, want %+v", got, want)
				}
			}
		})
	}
}

func tokenRows(b *testing.B, db *gorm.DB) int64 {
	b.Helper()
	var n int64
	if err := db.Table("sigil_opaque_tokens").Count(&n).Error; err != nil {
		b.Fatalf("count tokens: %v", err)
	}
	return n
}
