package redisstore_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// BenchmarkTokens measures the opaque-token hot path against the real
// Redis, from concurrent callers as the token and introspection endpoints
// are, so the pipelining of concurrent commands shows; "guarded" is the
// same through Guard (the gate's check and a deadline per pipeline), as
// the server runs it.
func BenchmarkTokens(b *testing.B) {
	for _, guarded := range []bool{false, true} {
		name := "plain"
		if guarded {
			name = "guarded"
		}
		b.Run(name, func(b *testing.B) {
			client, prefix := testenv.Redis(b)
			if guarded {
				h := redisstore.Guard(client, redisstore.GuardOptions{Timeout: time.Second})
				b.Cleanup(h.Close)
			}
			benchmarkTokens(b, redisstore.NewTokens(client, prefix))
		})
	}
}

func benchmarkTokens(b *testing.B, store *redisstore.Tokens) {
	tok := domain.Token{
		Format: domain.FormatOpaque, ID: "jti", ClientID: "c", Subject: "c",
		Scopes: domain.NewScopes("country.read"), Audience: []string{"c"},
		IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour),
	}
	b.Run("save", func(b *testing.B) {
		b.SetParallelism(16) // callers per core, as a busy token endpoint has
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			t := tok
			for pb.Next() {
				t.Value = rand.Text()
				if err := store.SaveToken(b.Context(), t); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("find", func(b *testing.B) {
		t := tok
		t.Value = rand.Text()
		if err := store.SaveToken(b.Context(), t); err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(16)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := store.FindToken(b.Context(), t.Value); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
