package gormstore_test

import (
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/test/fakes"
	"github.com/sigilauth/sigil/test/testenv"
)

// The DenyList contract is in test/contract; these tests cover the rows and
// the sweep.

func TestDenyListDeleteExpiredRemovesOnlyExpiredEntries(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.migrated(t)
			clock := fakes.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
			list := gormstore.NewDenyList(db, clock)
			for jti, life := range map[string]time.Duration{"short": time.Minute, "long": time.Hour} {
				if err := list.Deny(t.Context(), jti, clock.Now().Add(life)); err != nil {
					t.Fatalf("Deny: %v", err)
				}
			}
			if n, err := list.DeleteExpired(t.Context()); err != nil || n != 0 {
				t.Errorf("DeleteExpired before any expiry = %d, %v; want 0", n, err)
			}
			clock.Advance(time.Minute)
			if n, err := list.DeleteExpired(t.Context()); err != nil || n != 1 {
				t.Errorf("DeleteExpired = %d, %v; want 1", n, err)
			}
			rows := rawRows(t, db, "sigil_denied_jtis")
			if len(rows) != 1 || rows[0]["jti"] != "long" {
				t.Errorf("rows left = %v, want only long", rows)
			}
			if denied, err := list.IsDenied(t.Context(), "long"); err != nil || !denied {
				t.Errorf("IsDenied(long) = %v, %v; want true", denied, err)
			}
		})
	}
}

func TestDenyListKeepsTheLongestExpiry(t *testing.T) {
	db := testenv.SQLite(t)
	clock := fakes.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	list := gormstore.NewDenyList(db, clock)
	for _, life := range []time.Duration{time.Hour, 2 * time.Hour, time.Minute, -time.Hour} {
		if err := list.Deny(t.Context(), "jti", clock.Now().Add(life)); err != nil {
			t.Fatalf("Deny: %v", err)
		}
	}
	var exp int64
	if err := db.Raw("SELECT expires_at FROM sigil_denied_jtis WHERE jti = 'jti'").Row().Scan(&exp); err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(2 * time.Hour).UnixMicro(); exp != want {
		t.Errorf("expires_at = %v, want the longest, %v", time.UnixMicro(exp).UTC(), time.UnixMicro(want).UTC())
	}
}
