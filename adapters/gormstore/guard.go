package gormstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	sqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/internal/gate"
	"github.com/sigilauth/sigil/domain"
)

// Health is what the rest of Sigil sees of the database's availability:
// whether it is believed to answer, and a check for /readyz that never
// waits on a database known to be down.
type Health struct {
	gate    *gate.Gate
	sqlDB   *sql.DB
	timeout time.Duration
}

// GuardOptions tune Guard.
type GuardOptions struct {
	// Timeout bounds every statement (and every transaction, from BEGIN
	// to COMMIT) unless the caller's context ends sooner.
	Timeout time.Duration
	// ProbeInterval is how often a database that is down is asked again;
	// 0 means 200 ms.
	ProbeInterval time.Duration
	// Logger receives one line when the database goes down, one when it is
	// back and a count of refused calls every 10 s in between.
	Logger *slog.Logger
}

// guardPlugin is the name Guard registers under in Gorm.
const guardPlugin = "sigil:guard"

// Guard puts every statement Gorm runs on db under the one policy of this
// adapter, as Gorm callbacks, so that no store has to remember it:
//
//   - each statement runs under opts.Timeout, so a frozen database costs
//     a caller at most that long;
//   - a failure that means the database cannot answer now (see classify)
//     becomes domain.ErrTemporarilyUnavailable, which callers answer with
//     503, and marks the database down;
//   - while it is down, statements fail at once without touching the
//     network, until a probe (a ping) sees it answer again.
//
// Call Close on the Health before closing the database.
func Guard(db *gorm.DB, opts GuardOptions) (*Health, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("guard database: %w", err)
	}
	h := &Health{sqlDB: sqlDB, timeout: opts.Timeout}
	h.gate = gate.New("database", sqlDB.PingContext, gate.Options{
		ProbeTimeout: opts.Timeout, ProbeInterval: opts.ProbeInterval, Logger: opts.Logger,
	})
	if err := db.Use(h); err != nil {
		return nil, fmt.Errorf("guard database: %w", err)
	}
	return h, nil
}

// Up reports whether the database is believed to answer.
func (h *Health) Up() bool { return h.gate.Open() }

// Check is the readiness check: an error at once while the database is
// known to be down, else a ping bounded by the timeout.
func (h *Health) Check(ctx context.Context) error {
	if !h.gate.Open() {
		return errDown
	}
	ctx, cancel := h.bound(ctx)
	defer cancel()
	return h.sqlDB.PingContext(ctx)
}

// Close stops the probe of an outage in progress.
func (h *Health) Close() { h.gate.Close() }

// Name implements gorm.Plugin.
func (h *Health) Name() string { return guardPlugin }

// Initialize implements gorm.Plugin: the guard runs first and last around
// every kind of statement. "First" matters: Gorm wraps a Create in a
// transaction of its own, whose BEGIN must already be under the deadline.
func (h *Health) Initialize(db *gorm.DB) error {
	cb := db.Callback()
	register := []struct {
		name          string
		before, after func(name string, fn func(*gorm.DB)) error
		keepsRows     bool
	}{
		{"create", func(n string, f func(*gorm.DB)) error { return cb.Create().Before("*").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Create().After("*").Register(n, f) }, false},
		{"query", func(n string, f func(*gorm.DB)) error { return cb.Query().Before("*").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Query().After("*").Register(n, f) }, false},
		{"update", func(n string, f func(*gorm.DB)) error { return cb.Update().Before("*").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Update().After("*").Register(n, f) }, false},
		{"delete", func(n string, f func(*gorm.DB)) error { return cb.Delete().Before("*").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Delete().After("*").Register(n, f) }, false},
		{"raw", func(n string, f func(*gorm.DB)) error { return cb.Raw().Before("*").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Raw().After("*").Register(n, f) }, false},
		// Rows (Scan goes through them) are read after the callbacks have
		// run, so their deadline cannot be cancelled in the after callback:
		// it lapses by itself.
		{"row", func(n string, f func(*gorm.DB)) error { return cb.Row().Before("*").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Row().After("*").Register(n, f) }, true},
	}
	for _, r := range register {
		if err := r.before(guardPlugin+":before_"+r.name, h.before(r.keepsRows)); err != nil {
			return err
		}
		if err := r.after(guardPlugin+":after_"+r.name, h.after); err != nil {
			return err
		}
	}
	return nil
}

// guardState is what before leaves for after on a statement.
type guardState struct {
	caller context.Context
	cancel context.CancelFunc
}

const guardStateKey = guardPlugin + ":state"

func (h *Health) before(keepsRows bool) func(db *gorm.DB) {
	return func(db *gorm.DB) {
		if db.Error != nil {
			return
		}
		caller := db.Statement.Context
		if caller == nil {
			caller = context.Background()
		}
		if !h.gate.Allow() {
			_ = db.AddError(errDown)
			return
		}
		ctx, cancel := h.bound(caller)
		db.Statement.Context = ctx
		if keepsRows {
			// The deadline still bounds reading the rows; the timer
			// releases the context when it fires.
			cancel = func() {}
		}
		db.InstanceSet(guardStateKey, guardState{caller: caller, cancel: cancel})
	}
}

func (h *Health) after(db *gorm.DB) {
	v, ok := db.InstanceGet(guardStateKey)
	if !ok {
		return
	}
	st := v.(guardState)
	bounded := db.Statement.Context
	timedOut := bounded != nil && bounded.Err() != nil && st.caller.Err() == nil
	st.cancel()
	db.Statement.Context = st.caller
	if db.Error == nil {
		return
	}
	if timedOut && !errors.Is(db.Error, domain.ErrTemporarilyUnavailable) {
		// Our deadline passed, whatever shape the error took on the way:
		// Gorm joins the errors of a statement and of its rollback into
		// text, so the deadline may no longer be in the chain.
		db.Error = &unavailableError{cause: db.Error}
	}
	db.Error = h.judge(st.caller, db.Error)
}

// judge classifies err from a call made with the caller's context: an
// unavailable database marks the gate down. A caller who gave up (a
// client that went away) says nothing about the database.
func (h *Health) judge(caller context.Context, err error) error {
	if err == nil || errors.Is(err, errDown) || caller.Err() != nil {
		return err
	}
	c, down := classify(err)
	var liteErr *sqlite.Error
	if down && !errors.As(err, &liteErr) {
		// A busy SQLite file is another writer's turn, not an outage.
		h.gate.Fail(err)
	}
	return c
}

// noDeadlineKey marks a context whose statements the caller bounds (see
// withoutStatementDeadline).
type noDeadlineKey struct{}

// withoutStatementDeadline exempts the statements run with ctx from the
// guard's deadline, for the migration at start.
func withoutStatementDeadline(ctx context.Context) context.Context {
	return context.WithValue(ctx, noDeadlineKey{}, true)
}

// bound gives ctx the adapter's deadline unless it already has a sooner
// one.
func (h *Health) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if h == nil || h.timeout <= 0 || ctx.Value(noDeadlineKey{}) != nil {
		return ctx, func() {}
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= h.timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, h.timeout)
}

// guardOf returns the guard registered on db, or nil (a nil *Health bounds
// and judges nothing).
func guardOf(db *gorm.DB) *Health {
	if p, ok := db.Config.Plugins[guardPlugin]; ok {
		return p.(*Health)
	}
	return nil
}

// withGuard runs fn, which talks to the database outside Gorm's callbacks
// (a transaction's BEGIN and COMMIT, a pinned connection), under the
// guard's deadline and classification.
func withGuard(ctx context.Context, db *gorm.DB, fn func(ctx context.Context) error) error {
	h := guardOf(db)
	if h == nil {
		return fn(ctx)
	}
	if !h.gate.Allow() {
		return errDown
	}
	bounded, cancel := h.bound(ctx)
	defer cancel()
	return h.judge(ctx, fn(bounded))
}

// errDown is what a call gets while the database is known to be down.
var errDown = fmt.Errorf("database is down: %w", domain.ErrTemporarilyUnavailable)

// unavailableError is a database failure that means "not now": it matches
// domain.ErrTemporarilyUnavailable and keeps the cause for the log.
type unavailableError struct{ cause error }

func (e *unavailableError) Error() string { return "database unavailable: " + e.cause.Error() }
func (e *unavailableError) Unwrap() []error {
	return []error{domain.ErrTemporarilyUnavailable, e.cause}
}

// SQLite result codes that mean another connection holds the lock
// (https://sqlite.org/rescode.html); extended codes keep them in the low
// byte.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// classify tells whether err means the database cannot answer now, rather
// than that the statement was wrong, and if so returns it as an error
// matching domain.ErrTemporarilyUnavailable. It is the one place this
// adapter decides that: the network failed (refused, reset, end of
// stream, timeout, our own deadline), the driver dropped a broken
// connection, PostgreSQL is shutting down or starting (57P01, 57P02,
// 57P03), lost the connection (class 08) or has no connection slot left
// (53300), or SQLite stayed busy or locked past its busy timeout.
func classify(err error) (error, bool) {
	if err == nil {
		return nil, false
	}
	if errors.Is(err, domain.ErrTemporarilyUnavailable) {
		return err, true
	}
	var (
		pgErr   *pgconn.PgError
		connErr *pgconn.ConnectError
		liteErr *sqlite.Error
	)
	switch {
	case errors.As(err, &pgErr):
		switch {
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03",
			pgErr.Code == "53300", strings.HasPrefix(pgErr.Code, "08"):
			return &unavailableError{cause: err}, true
		}
		return err, false
	case errors.As(err, &liteErr):
		switch liteErr.Code() & 0xff {
		case sqliteBusy, sqliteLocked:
			return &unavailableError{cause: err}, true
		}
		return err, false
	case errors.As(err, &connErr),
		pgconn.Timeout(err),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		gate.NetworkFailure(err):
		return &unavailableError{cause: err}, true
	}
	// pgx reports a connection that died under it in words only, and Gorm
	// joins a statement's error with its rollback's as text, which keeps
	// only the last in the chain: judge those by their words.
	msg := err.Error()
	for _, words := range []string{"conn closed", "unexpected EOF", "failed to connect", "timeout: ",
		"(SQLSTATE 57P01)", "(SQLSTATE 57P02)", "(SQLSTATE 57P03)", "(SQLSTATE 53300)", "(SQLSTATE 08"} {
		if strings.Contains(msg, words) {
			return &unavailableError{cause: err}, true
		}
	}
	return err, false
}
