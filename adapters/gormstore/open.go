// Package gormstore keeps clients, opaque tokens, signing keys (sealed),
// countries, the deny list of revoked tokens and the ids of used client
// assertions in SQLite or PostgreSQL through Gorm, and provides the lock
// that nodes sharing the database take turns with. Gorm types stay inside
// it: callers get the application ports and domain values.
package gormstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

// Drivers Open accepts.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// slowQuery is when Gorm warns about a statement.
const slowQuery = 500 * time.Millisecond

// Open connects to a database: driver is "sqlite" (dsn a file path, or
// ":memory:") or "postgres" (dsn a libpq key=value string or URL). Gorm's
// own log goes to logger through gormLog: slow statements at warn level,
// without their parameters, failing ones at debug level without their SQL,
// so that neither a secret hash nor key material reaches the log, and an
// outage does not write one line per statement (the caller reports the
// error once). A nil logger discards it.
func Open(driver, dsn string, logger *slog.Logger) (*gorm.DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var dialector gorm.Dialector
	switch driver {
	case DriverSQLite:
		dialector = sqlite.Open(sqliteDSN(dsn))
	case DriverPostgres:
		dialector = postgres.Open(dsn)
	default:
		return nil, fmt.Errorf("open database: unknown driver %q (want %q or %q)", driver, DriverSQLite, DriverPostgres)
	}
	// Silent while opening: a failure is returned, and reported once by
	// the caller, where gorm would also log it on its own.
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger: gormlogger.Discard,
	})
	if err != nil {
		// The DSN may hold a password: name the driver, not the DSN.
		return nil, fmt.Errorf("open %s database: %w", driver, err)
	}
	db.Logger = gormLog{logger}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driver, err)
	}
	switch driver {
	case DriverSQLite:
		// SQLite takes one writer at a time and the pure-Go driver copes
		// badly with writers contending on one file, so every statement
		// goes through a single connection, which is also what keeps a
		// ":memory:" database alive: it lives and dies with its connection.
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetMaxIdleConns(1)
		sqlDB.SetConnMaxLifetime(0)
		sqlDB.SetConnMaxIdleTime(0)
	case DriverPostgres:
		// Token requests are short; a few connections serve many requests.
		// Recycling them lets a fail-over or a pgbouncer restart heal.
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(5)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	}
	return db, nil
}

// sqlitePragmas are applied to every connection, in this order: the busy
// timeout first, because switching to WAL needs a lock another process may
// hold. WAL lets readers proceed while the one writer writes; NORMAL
// synchronous is durable enough under WAL; foreign keys are off in SQLite
// unless asked for. Immediate transactions take the write lock at BEGIN, so
// two processes sharing the file wait for each other instead of failing
// with SQLITE_BUSY half-way through.
var sqlitePragmas = []struct{ name, value string }{
	{"busy_timeout", "5000"},
	{"journal_mode", "WAL"},
	{"synchronous", "NORMAL"},
	{"foreign_keys", "1"},
}

// sqliteDSN adds Sigil's pragmas to dsn, leaving alone any the operator set.
func sqliteDSN(dsn string) string {
	var b strings.Builder
	b.WriteString(dsn)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	add := func(param string) {
		b.WriteString(sep)
		b.WriteString(param)
		sep = "&"
	}
	for _, p := range sqlitePragmas {
		if !strings.Contains(dsn, "_pragma="+p.name+"(") {
			add("_pragma=" + p.name + "(" + p.value + ")")
		}
	}
	if !strings.Contains(dsn, "_txlock=") {
		add("_txlock=immediate")
	}
	return b.String()
}

// gormLog is Gorm's logger. Gorm's own slog logger writes every failing
// statement at error level with its SQL: during a database outage that is
// one error line per request. Here a failing statement is a debug line
// with the error alone, since the error also reaches the caller, which
// logs it once (or the guard, which logs an outage once); a slow one is a
// warning with the statement but never its parameters.
type gormLog struct{ l *slog.Logger }

var (
	_ gormlogger.Interface = gormLog{}
	_ gorm.ParamsFilter    = gormLog{}
)

func (g gormLog) LogMode(gormlogger.LogLevel) gormlogger.Interface { return g }

func (g gormLog) Info(ctx context.Context, msg string, args ...any) {
	g.l.DebugContext(ctx, "gorm: "+fmt.Sprintf(msg, args...))
}

func (g gormLog) Warn(ctx context.Context, msg string, args ...any) {
	g.l.WarnContext(ctx, "gorm: "+fmt.Sprintf(msg, args...))
}

// Error is Gorm's complaint about itself (a model it cannot parse), not a
// failed statement: a warning.
func (g gormLog) Error(ctx context.Context, msg string, args ...any) {
	g.l.WarnContext(ctx, "gorm: "+fmt.Sprintf(msg, args...))
}

func (g gormLog) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	took := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound):
		if g.l.Enabled(ctx, slog.LevelDebug) {
			g.l.LogAttrs(ctx, slog.LevelDebug, "statement failed",
				slog.String("error", err.Error()), slog.Duration("duration", took))
		}
	case took > slowQuery:
		sql, rows := fc()
		g.l.LogAttrs(ctx, slog.LevelWarn, "slow statement",
			slog.String("sql", sql), slog.Int64("rows", rows), slog.Duration("duration", took))
	}
}

// ParamsFilter implements gorm.ParamsFilter: statements are logged
// with placeholders, never with the values bound to them.
func (gormLog) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
