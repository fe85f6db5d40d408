package gormstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/test/testenv"
)

// The Locker contract is in test/contract; these tests cover the SQLite
// lease rows and releases the contract cannot provoke.

func TestLockerLeaseOfADeadHolderIsTakenOverOnceItRunsOut(t *testing.T) {
	db := testenv.SQLite(t)
	locker := gormstore.NewLocker(db)
	past, future := time.Now().Add(-time.Second).UnixMicro(), time.Now().Add(time.Minute).UnixMicro()
	if err := db.Exec("INSERT INTO sigil_locks (name, holder, expires_at) VALUES ('live', 'other-node', ?), ('dead', 'crashed-node', ?)", future, past).Error; err != nil {
		t.Fatal(err)
	}
	run := func(name string) bool {
		ran, err := locker.TryLocked(t.Context(), name, func(context.Context) error { return nil })
		if err != nil {
			t.Fatalf("TryLocked(%s): %v", name, err)
		}
		return ran
	}
	if run("live") {
		t.Error("TryLocked ran under a lease another node holds")
	}
	if !run("dead") {
		t.Error("TryLocked did not take over a lease that ran out")
	}
	rows := rawRows(t, db, "sigil_locks")
	if len(rows) != 1 || rows[0]["name"] != "live" || rows[0]["holder"] != "other-node" {
		t.Errorf("sigil_locks = %v, want only the other node's live lease", rows)
	}
}

func TestLockerReportsALeaseLostWhileTheWorkRan(t *testing.T) {
	db := testenv.SQLite(t)
	ran, err := gormstore.NewLocker(db).TryLocked(t.Context(), "rotate", func(context.Context) error {
		// Another node takes the lease, as it may once it has run out.
		return db.Exec("UPDATE sigil_locks SET holder = 'other-node' WHERE name = 'rotate'").Error
	})
	if !ran || err == nil || !strings.Contains(err.Error(), "lease ran out") {
		t.Errorf("TryLocked = %v, %v; want true and an error saying the lease ran out", ran, err)
	}
	if rows := rawRows(t, db, "sigil_locks"); len(rows) != 1 || rows[0]["holder"] != "other-node" {
		t.Errorf("sigil_locks = %v, want the other node's lease left alone", rows)
	}
}

func TestLockerReleasesWhenTheContextEndsDuringTheWork(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			locker := gormstore.NewLocker(b.migrated(t))
			ctx, cancel := context.WithCancel(t.Context())
			ran, err := locker.TryLocked(ctx, "rotate", func(ctx context.Context) error {
				cancel()
				return ctx.Err()
			})
			if !ran || err == nil {
				t.Fatalf("TryLocked = %v, %v; want true and the work's error", ran, err)
			}
			ran, err = locker.TryLocked(t.Context(), "rotate", func(context.Context) error { return nil })
			if err != nil || !ran {
				t.Errorf("TryLocked after a cancelled one = %v, %v; want the lock free", ran, err)
			}
		})
	}
}

func TestLockerOnPostgreSQLIsPerSchema(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	// Two deployments in two schemas of one database, and a second node of
	// the first deployment.
	first, other := testenv.Postgres(t), testenv.Postgres(t)
	holding := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := gormstore.NewLocker(first).TryLocked(t.Context(), "rotate", func(context.Context) error {
			close(holding)
			<-release
			return nil
		})
		done <- err
	}()
	<-holding
	sameDeployment, err := gormstore.NewLocker(first).TryLocked(t.Context(), "rotate", func(context.Context) error { return nil })
	if err != nil || sameDeployment {
		t.Errorf("a second node of the same schema took a held lock: %v, %v", sameDeployment, err)
	}
	otherDeployment, err := gormstore.NewLocker(other).TryLocked(t.Context(), "rotate", func(context.Context) error { return nil })
	if err != nil || !otherDeployment {
		t.Errorf("a deployment in another schema was kept out by this one's lock: %v, %v", otherDeployment, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
