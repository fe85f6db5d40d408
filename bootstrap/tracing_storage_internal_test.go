package bootstrap

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// recorded is a tracer provider whose spans a test reads, and a parent
// span standing for the request.
func recorded(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder, context.Context, trace.Span) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	return tp, rec, ctx, parent
}

// childSpans are the ended spans under parent, by name.
func childSpans(rec *tracetest.SpanRecorder, parent trace.Span) map[string]sdktrace.ReadOnlySpan {
	out := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		if s.Parent().SpanID() == parent.SpanContext().SpanID() {
			out[s.Name()] = s
		}
	}
	return out
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// noneHolds fails if any span attribute holds secret.
func noneHolds(t *testing.T, rec *tracetest.SpanRecorder, secret string) {
	t.Helper()
	for _, s := range rec.Ended() {
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.String(), secret) {
				t.Errorf("span %s: %s holds %q", s.Name(), kv.Key, secret)
			}
		}
	}
}

func TestRedisCommandsOfATracedRequestAreSpans(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Redis")
	}
	client, prefix := testenv.Redis(t)
	tp, rec, ctx, parent := recorded(t)
	traceRedis(client, tp, Config{RedisAddr: testenv.RedisAddr()})

	key := prefix + "token-hash-0123"
	if err := client.Set(ctx, key, "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := client.Get(ctx, prefix+"missing").Err(); err != redis.Nil {
		t.Fatalf("get missing: %v", err)
	}
	if _, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, key)
		p.PTTL(ctx, key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Outside a trace: no span.
	if err := client.Get(context.Background(), key).Err(); err != nil {
		t.Fatal(err)
	}
	parent.End()

	spans := childSpans(rec, parent)
	for _, name := range []string{"SET", "GET", "PIPELINE"} {
		s, ok := spans[name]
		if !ok {
			t.Fatalf("no %s span under the request; spans %v", name, spans)
		}
		if s.SpanKind() != trace.SpanKindClient || attr(s, "db.system.name") != "redis" || attr(s, "db.operation.name") != name {
			t.Errorf("%s: kind %v, attributes %v", name, s.SpanKind(), s.Attributes())
		}
		if s.Status().Code != 0 {
			t.Errorf("%s: status %v (a missing key is an answer, not an error)", name, s.Status())
		}
	}
	if got := attr(spans["PIPELINE"], "db.operation.batch.size"); got != "2" {
		t.Errorf("pipeline batch size %q, want 2", got)
	}
	// A command outside a trace makes no span: every span is of the
	// request's trace (a new connection's handshake included).
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("span %s outside the request's trace; spans %v", s.Name(), spanNames(rec))
		}
	}
	noneHolds(t, rec, "token-hash-0123")
}

func TestStatementsOfATracedRequestAreSpans(t *testing.T) {
	db, err := gormstore.Open("sqlite", t.TempDir()+"/traced.db", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tp, rec, ctx, parent := recorded(t)
	if _, err := traceDatabase(db, tp); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("CREATE TABLE things (id TEXT PRIMARY KEY)").Error; err != nil { // outside a trace
		t.Fatal(err)
	}
	if err := db.WithContext(ctx).Exec("INSERT INTO things (id) VALUES (?)", "bound-secret-value").Error; err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := db.WithContext(ctx).Table("things").Where("id = ?", "bound-secret-value").Count(&n).Error; err != nil || n != 1 {
		t.Fatalf("count %d: %v", n, err)
	}
	// An alias is not the table's name.
	var ids []string
	if err := db.WithContext(ctx).Table("things AS t").Where("t.id <> ?", "").Pluck("t.id", &ids).Error; err != nil || len(ids) != 1 {
		t.Fatalf("pluck %v: %v", ids, err)
	}
	parent.End()

	spans := childSpans(rec, parent)
	insert, ok := spans["INSERT"]
	if !ok {
		t.Fatalf("no INSERT span; spans %v", spans)
	}
	if attr(insert, "db.system.name") != "sqlite" || !strings.Contains(attr(insert, "db.query.text"), "VALUES (?)") {
		t.Errorf("INSERT attributes %v", insert.Attributes())
	}
	sel, ok := spans["SELECT things"]
	if !ok {
		t.Fatalf("no SELECT things span; spans %v", spans)
	}
	if attr(sel, "db.collection.name") != "things" || sel.SpanKind() != trace.SpanKindClient {
		t.Errorf("SELECT attributes %v", sel.Attributes())
	}
	if got := len(rec.Ended()); got != 4 {
		t.Errorf("%d spans, want 4: a statement outside a trace makes none; spans %v", got, spanNames(rec))
	}
	for _, s := range rec.Ended() {
		if s.Name() == "SELECT t" {
			t.Errorf("a span is named after the alias: %v", spanNames(rec))
		}
	}
	noneHolds(t, rec, "bound-secret-value")
}

func spanNames(rec *tracetest.SpanRecorder) []string {
	var out []string
	for _, s := range rec.Ended() {
		out = append(out, s.Name()+" under "+s.Parent().SpanID().String())
	}
	return out
}

// The Redis token store pipelines its saves and lookups under a context
// of its own: they still get client spans, in the request's trace.
func TestPipelinedTokenCallsAreSpansOfTheRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Redis")
	}
	client, prefix := testenv.Redis(t)
	tp, rec, ctx, parent := recorded(t)
	c := Config{RedisAddr: testenv.RedisAddr()}
	traceRedis(client, tp, c)
	store := redisstore.NewTokens(client, prefix)
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	tokens := traceBatchedTokens(store, tp, c)

	now := time.Now().Truncate(time.Second)
	tok := domain.Token{Value: "opaque-token-value-0123", ID: "jti-1", ClientID: "c", Subject: "c", Issuer: "i",
		Audience: []string{"c"}, IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Hour), Format: domain.FormatOpaque}
	if err := tokens.SaveToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.FindToken(ctx, "unknown-token"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("find unknown: %v", err)
	}
	parent.End()

	var ops []string
	for _, s := range childSpans(rec, parent) {
		if s.SpanKind() != trace.SpanKindClient || attr(s, "db.system.name") != "redis" || s.Status().Code != 0 {
			t.Errorf("span %s: kind %v, status %v, attributes %v", s.Name(), s.SpanKind(), s.Status(), s.Attributes())
		}
		ops = append(ops, s.Name())
	}
	slices.Sort(ops)
	if !slices.Equal(ops, []string{"GET", "SET"}) {
		t.Errorf("spans under the request %v, want GET and SET", ops)
	}
	noneHolds(t, rec, "opaque-token-value-0123")
}
