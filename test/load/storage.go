package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// The storage figures (issue 10): what one live opaque token costs in
// Redis and in PostgreSQL when a million are stored, written through
// Sigil's own store adapters so that the figure is Sigil's format.

// tokenLifetime is the demo opaque client's, four hours.
const tokenLifetime = 4 * time.Hour

// spread is how long ago the oldest of the live tokens was issued: a
// minute short of their lifetime, so that each is still live when it is
// stored.
const spread = tokenLifetime - time.Minute

// defaultIssuer is the issuer of the stored tokens: Sigil's default, as
// long as the harness's.
const defaultIssuer = "http://localhost:8085/ms-auth-server"

// liveTokens are n opaque tokens as IssueToken makes them for
// user-client-opaque: a 32-byte random value (only its hash is stored), a
// random UUID as jti, the client as subject and audience, its default
// scope, times in whole seconds. They were issued at a steady rate over
// the last lifetime, so they expire one after the other over the next:
// token i of n was issued (n-i) × spread/n ago. That is what a million
// live tokens are at steady state, and it decides how many share an
// expiry second, which the database's index on expires_at sees.
type liveTokens struct {
	n      int
	issuer string
	now    time.Time
}

func (l liveTokens) token(i int) (domain.Token, error) {
	var b [32 + 16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return domain.Token{}, err
	}
	u := b[32:]
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u)
	issued := l.now.Add(-time.Duration(l.n-i) * spread / time.Duration(l.n)).Truncate(time.Second)
	return domain.Token{
		Value:     base64.RawURLEncoding.EncodeToString(b[:32]),
		Format:    domain.FormatOpaque,
		ID:        h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32],
		Issuer:    l.issuer,
		Subject:   opaqueClient,
		ClientID:  opaqueClient,
		Scopes:    domain.NewScopes("country.read"),
		Audience:  []string{opaqueClient},
		IssuedAt:  issued,
		NotBefore: issued,
		ExpiresAt: issued.Add(tokenLifetime),
	}, nil
}

// save stores tokens from..to-1 with parallel concurrent calls of save.
func (l liveTokens) save(ctx context.Context, from, to, parallel int, save func(context.Context, domain.Token) error) error {
	var (
		next     atomic.Int64
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	next.Store(int64(from))
	for range parallel {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= to || ctx.Err() != nil {
					return
				}
				t, err := l.token(i)
				if err == nil {
					err = save(ctx, t)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// redisTokenBytes saves n tokens through redisstore.Tokens under prefix
// and reports Redis's used_memory growth per token, and the mean MEMORY
// USAGE of a sample of the keys: the first counts everything Redis spends
// (the key and value allocations and the main and expiry hash tables),
// the second the key and value alone, untouched by other clients of a
// shared Redis. The keys are deleted afterwards.
func redisTokenBytes(ctx context.Context, addr string, n int) (figure, error) {
	f := figure{Name: redisFigure}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	prefix, err := unusedPrefix(ctx, rdb)
	if err != nil {
		return f, err
	}
	defer func() {
		if removed, err := deletePrefix(context.WithoutCancel(ctx), addr, prefix); err != nil {
			logf("%v", err)
		} else {
			logf("removed %d Redis keys under %s", removed, prefix)
		}
	}()
	return measureRedisTokens(ctx, rdb, prefix, n)
}

// measureRedisTokens is redisTokenBytes under prefix, without the
// clean-up.
func measureRedisTokens(ctx context.Context, rdb redis.UniversalClient, prefix string, n int) (figure, error) {
	f := figure{Name: redisFigure}
	before, err := usedMemory(ctx, rdb)
	if err != nil {
		return f, err
	}
	store := redisstore.NewTokens(rdb, prefix)
	// The store's pipeline runs on a goroutine of its own, which Close
	// stops.
	defer func() { _ = store.Close(context.WithoutCancel(ctx)) }()
	start := time.Now()
	live := liveTokens{n: n, issuer: defaultIssuer, now: time.Now()}
	if err := live.save(ctx, 0, n, 256, store.SaveToken); err != nil {
		return f, fmt.Errorf("save tokens in Redis: %w", err)
	}
	took := time.Since(start)
	after, err := usedMemory(ctx, rdb)
	if err != nil {
		return f, err
	}
	sample, sampled, err := sampleMemoryUsage(ctx, rdb, prefix+"token:*", 1000)
	if err != nil {
		return f, err
	}
	f.Value = fmt.Sprintf("%.0f B", float64(after-before)/float64(n))
	f.How = fmt.Sprintf("%s tokens saved through redisstore.Tokens in %s (%s/s); used_memory grew by %.1f MiB; "+
		"MEMORY USAGE of %d of the keys: %.0f B each on average",
		formatCount(n), took.Round(100*time.Millisecond), formatRate(float64(n)/took.Seconds()),
		float64(after-before)/(1<<20), sampled, sample)
	return f, nil
}

// unusedPrefix is a Redis key prefix as long as Sigil's default,
// "sigil:", so that the keys are as long as a default deployment's, and
// that no key begins with, so that the keys under it are this run's.
func unusedPrefix(ctx context.Context, rdb *redis.Client) (string, error) {
	for range 10 {
		var b [2]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		p := "s" + hex.EncodeToString(b[:]) + ":"
		iter := rdb.Scan(ctx, 0, p+"*", 1000).Iterator()
		taken := iter.Next(ctx)
		if err := iter.Err(); err != nil {
			return "", fmt.Errorf("redis SCAN: %w", err)
		}
		if !taken {
			return p, nil
		}
	}
	return "", errors.New("found no unused Redis key prefix")
}

// usedMemory is used_memory from INFO memory.
func usedMemory(ctx context.Context, rdb redis.UniversalClient) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("redis INFO memory: %w", err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("redis INFO memory has no used_memory")
}

// sampleMemoryUsage is the mean MEMORY USAGE of up to max keys matching
// pattern, and how many it sampled.
func sampleMemoryUsage(ctx context.Context, rdb redis.UniversalClient, pattern string, max int) (float64, int, error) {
	var total int64
	n := 0
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for n < max && iter.Next(ctx) {
		used, err := rdb.MemoryUsage(ctx, iter.Val(), 0).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return 0, 0, fmt.Errorf("redis MEMORY USAGE: %w", err)
		}
		total += used
		n++
	}
	if err := iter.Err(); err != nil {
		return 0, 0, fmt.Errorf("redis SCAN: %w", err)
	}
	if n == 0 {
		return 0, 0, errors.New("no token key to sample")
	}
	return float64(total) / float64(n), n, nil
}

// viaAdapter is how many of the PostgreSQL tokens are saved one by one
// through gormstore.Tokens; see postgresTokenBytes for the rest.
const viaAdapter = 5_000

// systemClock is the wall clock gormstore.Tokens judges expiry by.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

var _ application.Clock = systemClock{}

// postgresTokenBytes stores n tokens in sigil_opaque_tokens, in a schema
// of its own dropped afterwards, and reports pg_total_relation_size (the
// heap, its TOAST and both indexes) per token. The first viaAdapter
// tokens are saved through gormstore.Tokens, one statement each as sigil
// saves them; a million that way takes minutes (the run says how long
// the first ones took), so the rest are copies of an adapter-written row
// made in one INSERT ... SELECT, with what differs between tokens drawn
// afresh in the adapter's form: the hash (hex SHA-256, 64 characters), the
// jti (a UUID) and the times (the steady-state schedule of liveTokens,
// microseconds of whole seconds). Both indexes then grow as the
// adapter's inserts grow them: the primary key in random order, the
// expiry index in time order.
func postgresTokenBytes(ctx context.Context, dsn string, n int) (figure, error) {
	f := figure{Name: postgresFigure}
	admin, err := gormstore.Open(gormstore.DriverPostgres, dsn, nil)
	if err != nil {
		return f, err
	}
	defer closeDB(admin)
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return f, err
	}
	// testenv's test schemas are sigil_test_*; the harness's are its own.
	schema := "sigil_bench_" + hex.EncodeToString(suffix[:])
	if err := admin.WithContext(ctx).Exec("CREATE SCHEMA " + schema).Error; err != nil {
		return f, fmt.Errorf("create schema: %w", err)
	}
	defer func() {
		if err := admin.WithContext(context.WithoutCancel(ctx)).Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE").Error; err != nil {
			logf("drop schema %s: %v", schema, err)
		} else {
			logf("dropped PostgreSQL schema %s", schema)
		}
	}()
	db, err := gormstore.Open(gormstore.DriverPostgres, withSearchPath(dsn, schema), nil)
	if err != nil {
		return f, err
	}
	defer closeDB(db)
	if err := gormstore.Migrate(ctx, db); err != nil {
		return f, err
	}
	return measurePostgresTokens(ctx, db, n, viaAdapter)
}

// measurePostgresTokens is postgresTokenBytes in the migrated db, with
// the first viaAdapter tokens saved through the adapter.
func measurePostgresTokens(ctx context.Context, db *gorm.DB, n, viaAdapter int) (figure, error) {
	f := figure{Name: postgresFigure}
	store := gormstore.NewTokens(db, systemClock{})
	live := liveTokens{n: n, issuer: defaultIssuer, now: time.Now()}
	first := min(n, viaAdapter)
	start := time.Now()
	// As many at once as sigil's pool opens (gormstore.Open).
	if err := live.save(ctx, 0, first, 20, store.SaveToken); err != nil {
		return f, fmt.Errorf("save tokens in PostgreSQL: %w", err)
	}
	adapterTook := time.Since(start)
	copyStart := time.Now()
	if err := copyTokenRows(ctx, db, live, first, n); err != nil {
		return f, err
	}
	copyTook := time.Since(copyStart)
	var size struct{ Count, Total, Heap, Indexes int64 }
	err := db.WithContext(ctx).Raw(`SELECT count(*) AS count,
		pg_total_relation_size('sigil_opaque_tokens') AS total,
		pg_relation_size('sigil_opaque_tokens') AS heap,
		pg_indexes_size('sigil_opaque_tokens') AS indexes
		FROM sigil_opaque_tokens`).Scan(&size).Error
	if err != nil {
		return f, fmt.Errorf("table size: %w", err)
	}
	if size.Count != int64(n) {
		return f, fmt.Errorf("table holds %d tokens, want %d", size.Count, n)
	}
	per := func(b int64) float64 { return float64(b) / float64(n) }
	f.Value = fmt.Sprintf("%.0f B", per(size.Total))
	f.How = fmt.Sprintf("pg_total_relation_size %.1f MiB: heap %.0f B, indexes %.0f B a token; "+
		"%s saved through gormstore.Tokens in %s (%s/s: all %s would take %s), the other %s copied in SQL in %s",
		float64(size.Total)/(1<<20), per(size.Heap), per(size.Indexes),
		formatCount(first), adapterTook.Round(100*time.Millisecond), formatRate(float64(first)/adapterTook.Seconds()),
		formatCount(n), (adapterTook * time.Duration(n) / time.Duration(first)).Round(time.Second),
		formatCount(n-first), copyTook.Round(100*time.Millisecond))
	return f, nil
}

// copyTokenRows adds tokens from..to-1 of live as copies of a row the
// adapter wrote, each with its own hash, jti and times (see
// postgresTokenBytes). The rows the adapter writes for liveTokens differ
// in those columns alone.
func copyTokenRows(ctx context.Context, db *gorm.DB, live liveTokens, from, to int) error {
	if from >= to {
		return nil
	}
	// Token i's times, in microseconds: liveTokens.token's schedule.
	step := spread.Microseconds() / int64(live.n)
	err := db.WithContext(ctx).Exec(`INSERT INTO sigil_opaque_tokens
		(hash, jti, format, issuer, subject, client_id, scopes, audience, issued_at, not_before, expires_at)
		SELECT encode(sha256(gen_random_uuid()::text::bytea), 'hex'), gen_random_uuid()::text,
			t.format, t.issuer, t.subject, t.client_id, t.scopes, t.audience,
			s.at, s.at, s.at + ?
		FROM (SELECT * FROM sigil_opaque_tokens LIMIT 1) t,
			LATERAL (SELECT g, (? + g * ?) / 1000000 * 1000000 AS at FROM generate_series(?::bigint, ?::bigint) g) s`,
		tokenLifetime.Microseconds(),
		live.now.Add(-spread).UnixMicro(), step, from, to-1).Error
	if err != nil {
		return fmt.Errorf("copy token rows: %w", err)
	}
	return nil
}

// postgresDSN is the PostgreSQL the tests use (test/testenv).
func postgresDSN() string {
	if dsn := os.Getenv(testenv.PostgresDSNEnv); dsn != "" {
		return dsn
	}
	return testenv.DefaultPostgresDSN
}

// withSearchPath adds search_path=schema to a libpq DSN, key=value words
// or a postgres:// URL.
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "search_path=" + schema
	}
	return dsn + " search_path=" + schema
}

// Names of the storage figures, which -run matches.
const (
	redisFigure    = "bytes per live opaque token in Redis"
	postgresFigure = "bytes per live opaque token in PostgreSQL"
)

// storageFigures measures the bytes per token in Redis and PostgreSQL.
func storageFigures(ctx context.Context, o options) []figure {
	var figures []figure
	run := func(name string, measure func() (figure, error)) {
		if !o.Run.MatchString(name) {
			return
		}
		logf("%s: %s tokens", name, formatCount(o.Tokens))
		f, err := measure()
		f.Name = name
		if err != nil {
			f.Failure = err.Error()
			logf("%s: could not run: %v", name, err)
		} else {
			logf("%s: %s", name, f.Value)
		}
		figures = append(figures, f)
	}
	run(redisFigure, func() (figure, error) { return redisTokenBytes(ctx, o.RedisAddr, o.Tokens) })
	run(postgresFigure, func() (figure, error) { return postgresTokenBytes(ctx, o.PostgresDSN, o.Tokens) })
	return figures
}
