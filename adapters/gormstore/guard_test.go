package gormstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestOwnPostgresOutagesAreUnavailableBoundedAndRecover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts, freezes and kills a PostgreSQL of its own")
	}
	pg := testenv.StartPostgres(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	db, err := gormstore.Open(gormstore.DriverPostgres, pg.DSN(), log)
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 400 * time.Millisecond
	health, err := gormstore.Guard(db, gormstore.GuardOptions{Timeout: timeout, ProbeInterval: 20 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		health.Close()
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	if err := gormstore.Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	clients := gormstore.NewClients(db)
	if _, err := clients.FindClient(t.Context(), "nobody"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("FindClient = %v, want not found", err)
	}
	waitUp := func(what string) {
		t.Helper()
		start := time.Now()
		for !health.Up() {
			if time.Since(start) > 3*time.Second {
				t.Fatalf("database not back 3 s after %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
		// The pool may still hold connections of the old server; a real
		// query must succeed.
		for {
			_, err := clients.FindClient(t.Context(), "nobody")
			if errors.Is(err, domain.ErrNotFound) {
				break
			}
			if time.Since(start) > 3*time.Second {
				t.Fatalf("queries still fail 3 s after %s: %v", what, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("back %v after %s", time.Since(start), what)
	}

	t.Run("frozen", func(t *testing.T) {
		pg.Freeze()
		start := time.Now()
		_, err := clients.FindClient(t.Context(), "nobody")
		took := time.Since(start)
		if !errors.Is(err, domain.ErrTemporarilyUnavailable) {
			t.Fatalf("FindClient on a frozen server = %v", err)
		}
		if took > timeout+500*time.Millisecond {
			t.Errorf("FindClient on a frozen server took %v, timeout %v", took, timeout)
		}
		t.Logf("frozen: unavailable after %v", took)
		start = time.Now()
		_, err = clients.FindClient(t.Context(), "nobody")
		if !errors.Is(err, domain.ErrTemporarilyUnavailable) || time.Since(start) > 50*time.Millisecond {
			t.Errorf("second call: %v after %v, want a fast unavailable", err, time.Since(start))
		}
		if err := health.Check(t.Context()); !errors.Is(err, domain.ErrTemporarilyUnavailable) {
			t.Errorf("readiness = %v", err)
		}
		pg.Thaw()
		waitUp("the thaw")
	})

	t.Run("killed", func(t *testing.T) {
		pg.Kill()
		_, err := clients.FindClient(t.Context(), "nobody")
		if !errors.Is(err, domain.ErrTemporarilyUnavailable) {
			t.Fatalf("FindClient on a killed server = %v", err)
		}
		// A transaction (BEGIN outside Gorm's callbacks) as well.
		err = clients.DeleteClient(t.Context(), "c")
		if !errors.Is(err, domain.ErrTemporarilyUnavailable) {
			t.Errorf("DeleteClient on a killed server = %v", err)
		}
		pg.Restart()
		waitUp("the restart")
	})

	out := logs.String()
	if strings.Contains(out, "level=ERROR") || strings.Contains(out, "SELECT") {
		t.Errorf("an outage logged at error, or SQL:\n%s", out)
	}
	if n := strings.Count(out, "dependency down"); n != 2 {
		t.Errorf("%d down lines for two outages:\n%s", n, out)
	}
}

func TestPostgresShutdownStatesAreUnavailable(t *testing.T) {
	// A real 57P01 (admin_shutdown) from the shared server: a backend
	// terminated by pg_terminate_backend gets it on its next statement.
	db := testenv.Postgres(t) // guarded by testenv
	sqlDB, _ := db.DB()
	sqlDB.SetMaxOpenConns(1)
	var pid int
	if err := db.Raw("SELECT pg_backend_pid()").Scan(&pid).Error; err != nil {
		t.Fatal(err)
	}
	dsn := strings.TrimSpace(strings.Split(testenv.DefaultPostgresDSN, " search_path")[0])
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	killer, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close(ctx)
	if _, err := killer.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	_, err = gormstore.NewClients(db).FindClient(t.Context(), "x")
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Errorf("FindClient on a terminated backend = %v, want temporarily unavailable", err)
	}
}

func TestSQLiteBusyIsUnavailableButNotAnOutage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sigil.db") + "?_pragma=busy_timeout(50)"
	a, err := gormstore.Open(gormstore.DriverSQLite, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := gormstore.Open(gormstore.DriverSQLite, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := gormstore.Migrate(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	health, err := gormstore.Guard(b, gormstore.GuardOptions{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(health.Close)
	// a holds the write lock; b's write waits its busy timeout and fails.
	tx := a.Begin()
	if err := tx.Exec("DELETE FROM sigil_clients WHERE id = 'none'").Error; err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	err = gormstore.NewClients(b).DeleteClient(t.Context(), "c")
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Errorf("DeleteClient on a locked SQLite file = %v, want temporarily unavailable", err)
	}
	if !health.Up() {
		t.Error("a busy SQLite file counted as an outage")
	}
}
