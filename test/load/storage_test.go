package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/test/testenv"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// The stored tokens are what sigil issues to the demo opaque client, live
// and issued at a steady rate over their lifetime.
func TestLiveTokensAreLiveAndIssuedAtASteadyRate(t *testing.T) {
	now := time.Now()
	live := liveTokens{n: 1000, issuer: defaultIssuer, now: now}
	values := map[string]bool{}
	var last time.Time
	for i := range live.n {
		tok, err := live.token(i)
		if err != nil {
			t.Fatal(err)
		}
		if values[tok.Value] || len(tok.Value) != 43 || !uuidV4.MatchString(tok.ID) {
			t.Fatalf("token %d: value %q (seen before: %v), jti %q; want a fresh 43-character value and a UUID", i, tok.Value, values[tok.Value], tok.ID)
		}
		values[tok.Value] = true
		if !tok.ExpiresAt.After(now) || tok.ExpiresAt.After(now.Add(tokenLifetime)) ||
			tok.ExpiresAt.Sub(tok.IssuedAt) != tokenLifetime || tok.IssuedAt.Nanosecond() != 0 || tok.IssuedAt.Before(last) {
			t.Fatalf("token %d: issued %v, expires %v; want whole seconds, in order, live now", i, tok.IssuedAt, tok.ExpiresAt)
		}
		last = tok.IssuedAt
		if tok.ClientID != opaqueClient || tok.Subject != opaqueClient || tok.Scopes.String() != "country.read" || tok.Format != "opaque" {
			t.Fatalf("token %d: %+v is not the demo opaque client's", i, tok)
		}
	}
	first, _ := live.token(0)
	if over := last.Sub(first.IssuedAt); over < tokenLifetime-2*time.Minute {
		t.Errorf("tokens issued over %v, want over about their whole lifetime (%v)", over, tokenLifetime)
	}
}

func bytesOf(t *testing.T, value string) float64 {
	t.Helper()
	b, err := strconv.ParseFloat(strings.TrimSuffix(value, " B"), 64)
	if err != nil {
		t.Fatalf("value %q: %v", value, err)
	}
	return b
}

// The figure is measured on the tokens the adapter stored, all of them
// (testenv deletes them after the test; redisTokenBytes after the run).
func TestRedisFigureIsMeasuredOnTheTokensTheAdapterStored(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Redis")
	}
	rdb, prefix := testenv.Redis(t)
	f, err := measureRedisTokens(t.Context(), rdb, prefix, 2000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	iter := rdb.Scan(t.Context(), 0, prefix+"token:*", 1000).Iterator()
	for iter.Next(t.Context()) {
		n++
	}
	if err := iter.Err(); err != nil || n != 2000 {
		t.Fatalf("%d token keys under the prefix, %v; want 2000", n, err)
	}
	// A key of 76 bytes and a value of about 170, with Redis's own
	// bookkeeping: a few hundred bytes. Other tests share this Redis, so
	// used_memory is only roughly the figure's.
	if b := bytesOf(t, f.Value); b < 150 || b > 2000 {
		t.Errorf("%s per token; want a few hundred bytes (%s)", f.Value, f.How)
	}
	if !strings.Contains(f.How, "MEMORY USAGE of 1000 of the keys") {
		t.Errorf("how: %s; want a sample of 1000 keys", f.How)
	}
}

func TestPostgresFigureCopiesTheAdaptersRowsExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	db := testenv.Postgres(t)
	const n = 600
	f, err := measurePostgresTokens(t.Context(), db, n, 200)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Sizes, Hashes, Ids, Count   int64
		BadHash, BadJti, Fractional int64
		FirstExpiry, LastExpiry     int64
	}
	err = db.Raw(`SELECT count(DISTINCT pg_column_size(t.*)) AS sizes, count(DISTINCT hash) AS hashes,
		count(DISTINCT jti) AS ids, count(*) AS count,
		count(*) FILTER (WHERE hash !~ '^[0-9a-f]{64}$') AS bad_hash,
		count(*) FILTER (WHERE jti !~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$') AS bad_jti,
		count(*) FILTER (WHERE issued_at % 1000000 <> 0 OR expires_at - issued_at <> ?) AS fractional,
		min(expires_at) AS first_expiry, max(expires_at) AS last_expiry
		FROM sigil_opaque_tokens t`, tokenLifetime.Microseconds()).Scan(&got).Error
	if err != nil {
		t.Fatal(err)
	}
	// Every row the same size: the copies are the adapter's rows with
	// their own hash, jti and times.
	if got.Count != n || got.Sizes != 1 || got.Hashes != n || got.Ids != n || got.BadHash+got.BadJti+got.Fractional != 0 {
		t.Errorf("rows %+v; want %d of one size, each with its own hex hash, UUID and whole-second times %v apart", got, n, tokenLifetime)
	}
	now := time.Now().UnixMicro()
	if got.FirstExpiry <= now || got.LastExpiry > now+tokenLifetime.Microseconds() ||
		got.LastExpiry-got.FirstExpiry < (tokenLifetime-2*time.Minute).Microseconds() {
		t.Errorf("expiries from %d to %d µs, now %d: want live tokens expiring over the next %v", got.FirstExpiry, got.LastExpiry, now, tokenLifetime)
	}
	if b := bytesOf(t, f.Value); b < 250 || b > 2000 {
		t.Errorf("%s per token; want a few hundred bytes (%s)", f.Value, f.How)
	}
}
