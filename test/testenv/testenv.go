// Package testenv gives tests the real services Sigil runs on: a
// PostgreSQL schema, a Redis key prefix or a SQLite file of their own,
// removed when the test ends, and throwaway redis-server processes (a
// standalone server to stop, a three-master Redis Cluster). When a service
// cannot be reached, or redis-server is not installed, the test fails
// rather than skips, so that CI, which provides them, cannot go green
// without having run the tests.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/gormstore"
)

// Environment variables naming the services, and their defaults.
const (
	PostgresDSNEnv     = "SIGIL_TEST_POSTGRES_DSN"
	DefaultPostgresDSN = "host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable"
	RedisAddrEnv       = "SIGIL_TEST_REDIS_ADDR"
	DefaultRedisAddr   = "127.0.0.1:6379"
)

// connectTimeout bounds how long a test waits for an unreachable service
// before failing.
const connectTimeout = 5 * time.Second

func uniqueSuffix(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("testenv: read randomness: %v", err)
	}
	return hex.EncodeToString(b[:])
}

func baseDSN() string {
	if dsn := os.Getenv(PostgresDSNEnv); dsn != "" {
		return dsn
	}
	return DefaultPostgresDSN
}

// withDSNParam adds key=value to a libpq DSN in either form, key=value
// words or a postgres:// URL, unless the DSN sets key already.
func withDSNParam(dsn, key, value string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if strings.Contains(dsn, "?"+key+"=") || strings.Contains(dsn, "&"+key+"=") {
			return dsn
		}
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + key + "=" + value
	}
	for _, f := range strings.Fields(dsn) {
		if strings.HasPrefix(f, key+"=") {
			return dsn
		}
	}
	return dsn + " " + key + "=" + value
}

func openPostgres(t testing.TB, dsn string) *gorm.DB {
	t.Helper()
	db, err := gormstore.Open(gormstore.DriverPostgres, withDSNParam(dsn, "connect_timeout", "5"), nil)
	if err != nil {
		t.Fatalf("testenv: PostgreSQL is unreachable (set %s; default %q): %v", PostgresDSNEnv, DefaultPostgresDSN, err)
	}
	guard(t, db)
	return db
}

// PostgresDSN creates a schema for this test alone, dropped with all it
// holds when the test ends, and returns a DSN whose search_path is that
// schema: a server started with it sees an empty database of its own.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	admin := openPostgres(t, baseDSN())
	schema := "sigil_test_" + uniqueSuffix(t)
	// The name is ours, lower-case letters, digits and underscores: safe
	// to write into the statement unquoted.
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		closeDB(admin)
		t.Fatalf("testenv: create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		defer closeDB(admin)
		if err := admin.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE").Error; err != nil {
			t.Errorf("testenv: drop schema %s: %v", schema, err)
		}
	})
	return withDSNParam(baseDSN(), "search_path", schema)
}

// Postgres returns a migrated database in a schema of this test's own
// (see PostgresDSN), closed and dropped when the test ends.
func Postgres(t testing.TB) *gorm.DB {
	t.Helper()
	db := PostgresUnmigrated(t)
	if err := gormstore.Migrate(t.Context(), db); err != nil {
		t.Fatalf("testenv: migrate PostgreSQL schema: %v", err)
	}
	return db
}

// PostgresUnmigrated is Postgres without the migration: an empty schema.
func PostgresUnmigrated(t testing.TB) *gorm.DB {
	t.Helper()
	db := openPostgres(t, PostgresDSN(t))
	t.Cleanup(func() { closeDB(db) })
	return db
}

// SQLite returns a migrated SQLite database in a file under t.TempDir(),
// closed when the test ends.
func SQLite(t testing.TB) *gorm.DB {
	t.Helper()
	db := SQLiteUnmigrated(t)
	if err := gormstore.Migrate(t.Context(), db); err != nil {
		t.Fatalf("testenv: migrate SQLite database: %v", err)
	}
	return db
}

// SQLiteUnmigrated is SQLite without the migration: an empty database.
func SQLiteUnmigrated(t testing.TB) *gorm.DB {
	t.Helper()
	db, err := gormstore.Open(gormstore.DriverSQLite, filepath.Join(t.TempDir(), "sigil.db"), nil)
	if err != nil {
		t.Fatalf("testenv: open SQLite: %v", err)
	}
	guard(t, db)
	// Registered after t.TempDir's own cleanup, so it runs first: the file
	// is closed before its directory is removed.
	t.Cleanup(func() { closeDB(db) })
	return db
}

// guard puts db under the adapter's timeouts and classification, as the
// server does, so that every test of the stores runs through them.
func guard(t testing.TB, db *gorm.DB) {
	t.Helper()
	h, err := gormstore.Guard(db, gormstore.GuardOptions{Timeout: connectTimeout})
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(h.Close)
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}

// RedisAddr is the address of the test Redis.
func RedisAddr() string {
	if addr := os.Getenv(RedisAddrEnv); addr != "" {
		return addr
	}
	return DefaultRedisAddr
}

// Redis returns a client of the test Redis and a key prefix for this test
// alone. When the test ends every key under the prefix is deleted and the
// client closed.
func Redis(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:       []string{RedisAddr()},
		DialTimeout: connectTimeout,
	})
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		t.Fatalf("testenv: Redis is unreachable at %s (set %s): %v", RedisAddr(), RedisAddrEnv, err)
	}
	prefix := "sigil-test:" + uniqueSuffix(t) + ":"
	t.Cleanup(func() {
		defer client.Close()
		if err := deleteByPrefix(context.Background(), client, prefix); err != nil {
			t.Errorf("testenv: delete Redis keys under %s: %v", prefix, err)
		}
	})
	return client, prefix
}

// deleteByPrefix walks the keyspace with SCAN, which unlike KEYS does not
// block a Redis that others share. The prefix holds no glob characters.
func deleteByPrefix(ctx context.Context, client redis.UniversalClient, prefix string) error {
	var cursor uint64
	for {
		keys, next, err := client.Scan(ctx, cursor, prefix+"*", 500).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := client.Del(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// FreePort finds a loopback port nobody listens on, for a server the test
// starts. It draws from below the kernel's ephemeral range (32768 and up
// on Linux), where the port would otherwise be free only until an
// outgoing connection of a load test takes it as its own end, and never
// hands the same port out twice in a process.
func FreePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		port := minFreePort + mrand.IntN(maxFreePort-minFreePort)
		if portsGiven[port] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue // in use
		}
		ln.Close()
		portsGiven[port] = true
		return port
	}
	t.Fatal("no free loopback port between 10000 and 20000")
	return 0
}

// The ports FreePort draws from (below the Redis Cluster nodes of
// StartRedisCluster and their buses), and those it has handed out.
const minFreePort, maxFreePort = 10000, 20000

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)
