package gormstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"time"

	"gorm.io/gorm"

	"github.com/sigilauth/sigil/application"
)

// Locker runs work under a lock every process sharing the database
// respects, so that one node of several does a transition (a step of key
// rotation).
//
// On PostgreSQL it is a session-level advisory lock, held on a connection
// of its own for as long as the work runs: if the process dies the
// session ends and PostgreSQL releases the lock. (A pooler in transaction
// mode, such as pgbouncer's, does not keep sessions: point Sigil at
// PostgreSQL or at a session-mode pool.)
//
// On SQLite it is a lease, a row of sigil_locks that names its holder and
// runs out after leaseFor: a process that dies holding it delays the next
// holder by that much at most.
type Locker struct {
	db *gorm.DB
}

var _ application.Locker = (*Locker)(nil)

// NewLocker returns a locker over a migrated database.
func NewLocker(db *gorm.DB) *Locker { return &Locker{db: db} }

// leaseFor is how long a SQLite lease lasts. The work done under a lock
// takes moments; a lease far longer means a slow disk never lets a second
// holder in while the first still works.
const leaseFor = 5 * time.Minute

// unlockTimeout bounds the release of a lock, which runs even when the
// caller's context has ended.
const unlockTimeout = 10 * time.Second

// TryLocked implements application.Locker: it runs fn if the named lock is
// free, releases the lock when fn returns, fails or panics, and returns
// fn's error as it is.
func (l *Locker) TryLocked(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error) {
	if l.db.Dialector.Name() == DriverPostgres {
		return l.tryAdvisory(ctx, name, fn)
	}
	return l.tryLease(ctx, name, fn)
}

// advisoryKey maps a lock name in a schema to PostgreSQL's 64-bit
// advisory lock key. Advisory locks belong to the whole database, so two
// deployments in different schemas of one database would otherwise hold
// each other's locks. Two names sharing a key would only make one wait for
// the other.
func advisoryKey(schema, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("sigil lock:" + schema + "\x00" + name))
	return int64(h.Sum64())
}

func (l *Locker) tryAdvisory(ctx context.Context, name string, fn func(ctx context.Context) error) (ran bool, err error) {
	sqlDB, err := l.db.DB()
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	// One connection for the lock and its release: an advisory lock
	// belongs to the session that took it, and a pooled *sql.DB would run
	// the unlock on whichever connection is free.
	var (
		conn *sql.Conn
		got  bool
		key  int64
	)
	// The pinned connection is outside Gorm's callbacks: withGuard bounds
	// and classifies taking the lock.
	err = withGuard(ctx, l.db, func(ctx context.Context) error {
		var err error
		if conn, err = sqlDB.Conn(ctx); err != nil {
			return err
		}
		var schema string
		if err := conn.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			_ = conn.Close()
			return err
		}
		key = advisoryKey(schema, name)
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
			_ = conn.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !got {
		_ = conn.Close()
		return false, nil
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		var released bool
		uerr := conn.QueryRowContext(uctx, "SELECT pg_advisory_unlock($1)", key).Scan(&released)
		if uerr != nil || !released {
			// The session may still hold the lock. Discard the connection
			// instead of returning it to the pool: closing it ends the
			// session, and PostgreSQL then releases the lock.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		_ = conn.Close()
		if uerr != nil && err == nil {
			err = fmt.Errorf("unlock %s: %w", name, uerr)
		}
	}()
	return true, fn(ctx)
}

func (l *Locker) tryLease(ctx context.Context, name string, fn func(ctx context.Context) error) (ran bool, err error) {
	db := l.db.WithContext(ctx)
	holder := rand.Text()
	got, err := takeLease(ctx, db, name, holder)
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !got {
		return false, nil
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		held, uerr := dropLease(uctx, l.db, name, holder)
		switch {
		case err != nil:
		case uerr != nil:
			err = fmt.Errorf("unlock %s: %w", name, uerr)
		case !held:
			err = fmt.Errorf("lock %s: the lease ran out before the work finished; another node may have done it at the same time", name)
		}
	}()
	return true, fn(ctx)
}

// takeLease takes the named lease for holder if it is free or has run
// out, in one statement: of any number of processes trying at once,
// exactly one changes a row.
func takeLease(ctx context.Context, db *gorm.DB, name, holder string) (bool, error) {
	now := time.Now()
	res := db.WithContext(ctx).Exec(`INSERT INTO sigil_locks (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE sigil_locks.expires_at <= ?`,
		name, holder, now.Add(leaseFor).UnixMicro(), now.UnixMicro())
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// dropLease ends holder's lease and reports whether holder still had it.
func dropLease(ctx context.Context, db *gorm.DB, name, holder string) (bool, error) {
	res := db.WithContext(ctx).Exec("DELETE FROM sigil_locks WHERE name = ? AND holder = ?", name, holder)
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// leasePoll bounds the wait between two tries of waitForLease.
const leasePoll = 250 * time.Millisecond

// waitForLease takes the named lease, waiting while another holds it,
// until ctx ends.
func waitForLease(ctx context.Context, db *gorm.DB, name, holder string) error {
	delay := 10 * time.Millisecond
	for {
		got, err := takeLease(ctx, db, name, holder)
		if err != nil {
			return fmt.Errorf("take lease %s: %w", name, err)
		}
		if got {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for lease %s: %w", name, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, leasePoll)
	}
}
