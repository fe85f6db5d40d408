package gormstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/test/fakes"
	"github.com/sigilauth/sigil/test/testenv"
)

// The ReplayGuard contract is in test/contract; these tests cover the rows,
// the sweep and the guard shared by nodes.

func TestReplayGuardDeleteExpiredRemovesOnlyExpiredIDs(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.migrated(t)
			clock := fakes.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
			guard := gormstore.NewReplayGuard(db, clock)
			for id, life := range map[string]time.Duration{"short": time.Minute, "long": time.Hour} {
				if first, err := guard.FirstUse(t.Context(), id, clock.Now().Add(life)); err != nil || !first {
					t.Fatalf("FirstUse(%s) = %v, %v", id, first, err)
				}
			}
			clock.Advance(time.Minute)
			if n, err := guard.DeleteExpired(t.Context()); err != nil || n != 1 {
				t.Errorf("DeleteExpired = %d, %v; want 1", n, err)
			}
			if n := countRows(t, db, "sigil_used_assertions"); n != 1 {
				t.Errorf("%d rows left, want 1", n)
			}
			if first, err := guard.FirstUse(t.Context(), "long", clock.Now().Add(time.Hour)); err != nil || first {
				t.Errorf("FirstUse(long) after the sweep = %v, %v; want false", first, err)
			}
		})
	}
}

func TestReplayGuardStoresTheHashOfTheID(t *testing.T) {
	db := testenv.SQLite(t)
	clock := fakes.NewClock(time.Now())
	id := "service-client-jwt " + strings.Repeat("j", 5000)
	if _, err := gormstore.NewReplayGuard(db, clock).FirstUse(t.Context(), id, clock.Now().Add(time.Hour)); err != nil {
		t.Fatalf("FirstUse: %v", err)
	}
	sum := sha256.Sum256([]byte(id))
	rows := rawRows(t, db, "sigil_used_assertions")
	if len(rows) != 1 || rows[0]["hash"] != hex.EncodeToString(sum[:]) {
		t.Errorf("rows = %v, want one keyed by the hex SHA-256 of the id", rows)
	}
}

func TestReplayGuardHoldsAcrossNodes(t *testing.T) {
	// Several Sigil nodes share one PostgreSQL: each has its own pool, and
	// an assertion replayed to all of them at once passes on one only.
	dsn := testenv.PostgresDSN(t)
	var nodes []*gormstore.ReplayGuard
	clock := fakes.NewClock(time.Now())
	for i := range 4 {
		db, err := gormstore.Open(gormstore.DriverPostgres, dsn, nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { closeDB(db) })
		if i == 0 {
			if err := gormstore.Migrate(t.Context(), db); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
		}
		nodes = append(nodes, gormstore.NewReplayGuard(db, clock))
	}

	for round := range 5 {
		id := "client jti-" + string(rune('a'+round))
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			firsts int
			start  = make(chan struct{})
		)
		for _, g := range nodes {
			for range 5 {
				wg.Go(func() {
					<-start
					first, err := g.FirstUse(t.Context(), id, clock.Now().Add(time.Minute))
					if err != nil {
						t.Errorf("FirstUse: %v", err)
					}
					mu.Lock()
					defer mu.Unlock()
					if first {
						firsts++
					}
				})
			}
		}
		close(start)
		wg.Wait()
		if firsts != 1 {
			t.Errorf("round %d: %d of %d calls across %d nodes saw true, want 1", round, firsts, 5*len(nodes), len(nodes))
		}
	}
}
