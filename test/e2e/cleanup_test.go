package e2e_test

import (
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// TestExpiredOpaqueTokensAreDeleted: without Redis, opaque tokens live in
// the database, and a running Sigil deletes the expired ones on schedule
// while keeping the live ones.
func TestExpiredOpaqueTokensAreDeleted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	n := startNode(t, func(c *bootstrap.Config) { c.TokenCleanupInterval = 50 * time.Millisecond })
	live := n.token(t, opaqueClient[0], opaqueClient[1], "")

	db, err := gormstore.Open("sqlite", n.Config.DatabaseDSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	// A token that expired an hour ago, written as an earlier run would
	// have left it.
	store := gormstore.NewTokens(db, application.SystemClock{})
	past := time.Now().Add(-2 * time.Hour)
	expired := domain.Token{Value: "expired-token", Format: domain.FormatOpaque, IssuedAt: past, ExpiresAt: past.Add(time.Hour)}
	if err := store.SaveToken(t.Context(), expired); err != nil {
		t.Fatal(err)
	}

	count := func() int64 {
		var c int64
		if err := db.Table("sigil_opaque_tokens").Count(&c).Error; err != nil {
			t.Fatal(err)
		}
		return c
	}
	deadline := time.Now().Add(10 * time.Second)
	for count() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d opaque tokens stored 10s on, want only the live one", count())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := store.FindToken(t.Context(), live); err != nil {
		t.Fatalf("the live token is gone: %v", err)
	}
}
