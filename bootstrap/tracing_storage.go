package bootstrap

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Storage spans are made only inside a trace: a Redis command or a
// statement whose context carries no span (the database and Redis
// probes, the expiry sweep, the key schedule, the revocation feed, the
// batched token commands, which leave in a pipeline of their own) would
// otherwise each start a trace of one span, a steady noise nobody asked
// for. Neither records arguments or values, which hold token hashes;
// statements are recorded as Gorm writes them, with placeholders.

// endSpan records err, if any, as the span's status, by its type alone.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
		span.SetStatus(codes.Error, errorType(err))
	}
	span.End()
}

// errorType names an error without its text.
func errorType(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "error"
	}
}

// traceRedis adds a client span per command, or per pipeline, that a
// traced request sends.
func traceRedis(r redis.UniversalClient, tp trace.TracerProvider, c Config) redis.UniversalClient {
	r.AddHook(redisTracing{tracer: tp.Tracer(tracerName), attrs: redisAttributes(c)})
	return r
}

// redisAttributes are those of every Redis span: the system, and the
// first configured address (a cluster's commands go to any of them).
func redisAttributes(c Config) []attribute.KeyValue {
	attrs := []attribute.KeyValue{semconv.DBSystemNameRedis}
	if host, port, err := net.SplitHostPort(strings.Split(c.RedisAddr, ",")[0]); err == nil {
		if n, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerAddress(host), semconv.ServerPort(n))
		}
	}
	return attrs
}

type redisTracing struct {
	tracer trace.Tracer
	attrs  []attribute.KeyValue
}

// spanErrorOfRedis is err unless it is redis.Nil: a missing key is an answer.
func spanErrorOfRedis(err error) error {
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

func (h redisTracing) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisTracing) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			return next(ctx, cmd)
		}
		op := strings.ToUpper(cmd.Name())
		ctx, span := h.tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(h.attrs...), trace.WithAttributes(semconv.DBOperationName(op)))
		err := next(ctx, cmd)
		endSpan(span, spanErrorOfRedis(err))
		return err
	}
}

func (h redisTracing) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			return next(ctx, cmds)
		}
		ctx, span := h.tracer.Start(ctx, "PIPELINE", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(h.attrs...), trace.WithAttributes(semconv.DBOperationName("PIPELINE"), semconv.DBOperationBatchSize(len(cmds))))
		err := next(ctx, cmds)
		endSpan(span, spanErrorOfRedis(err))
		return err
	}
}

// traceDatabase adds a client span per statement that a traced request
// runs, as Gorm callbacks right around the statement itself: inside the
// database guard's, which run first and last ("*"), so a span times the
// statement under its deadline.
func traceDatabase(db *gorm.DB, tp trace.TracerProvider) (*gorm.DB, error) {
	t := &gormTracing{tracer: tp.Tracer(tracerName), system: db.Dialector.Name()}
	cb := db.Callback()
	// Gorm does not export its processor type: each kind is registered
	// through a closure, as the guard does.
	register := []struct {
		kind, op      string
		before, after func(name string, fn func(*gorm.DB)) error
	}{
		{"create", "INSERT", func(n string, f func(*gorm.DB)) error { return cb.Create().Before("gorm:create").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Create().After("gorm:create").Register(n, f) }},
		{"query", "SELECT", func(n string, f func(*gorm.DB)) error { return cb.Query().Before("gorm:query").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Query().After("gorm:query").Register(n, f) }},
		{"update", "UPDATE", func(n string, f func(*gorm.DB)) error { return cb.Update().Before("gorm:update").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Update().After("gorm:update").Register(n, f) }},
		{"delete", "DELETE", func(n string, f func(*gorm.DB)) error { return cb.Delete().Before("gorm:delete").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Delete().After("gorm:delete").Register(n, f) }},
		{"row", "", func(n string, f func(*gorm.DB)) error { return cb.Row().Before("gorm:row").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Row().After("gorm:row").Register(n, f) }},
		{"raw", "", func(n string, f func(*gorm.DB)) error { return cb.Raw().Before("gorm:raw").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Raw().After("gorm:raw").Register(n, f) }},
	}
	for _, r := range register {
		if err := r.before("sigil:trace_before_"+r.kind, t.before(r.op)); err != nil {
			return nil, err
		}
		if err := r.after("sigil:trace_after_"+r.kind, t.after); err != nil {
			return nil, err
		}
	}
	return db, nil
}

type gormTracing struct {
	tracer trace.Tracer
	system string // Gorm's dialect name: "postgres", "sqlite"
}

const gormSpanKey = "sigil:trace_span"

// before starts the statement's span. Its name, "OPERATION table" as the
// conventions have it, is known for certain only once Gorm has built the
// statement: after sets it. op is the operation the kind of statement
// tells, "" for raw SQL and rows, whose SQL tells it.
func (t *gormTracing) before(op string) func(*gorm.DB) {
	return func(db *gorm.DB) {
		ctx := db.Statement.Context
		if db.Error != nil || ctx == nil || !trace.SpanContextFromContext(ctx).IsValid() {
			return
		}
		ctx, span := t.tracer.Start(ctx, "SQL", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("db.system.name", dbSystem(t.system))))
		db.Statement.Context = ctx
		db.InstanceSet(gormSpanKey, gormSpan{span: span, op: op})
	}
}

type gormSpan struct {
	span trace.Span
	op   string
}

func (t *gormTracing) after(db *gorm.DB) {
	v, ok := db.InstanceGet(gormSpanKey)
	if !ok {
		return
	}
	st := v.(gormSpan)
	sql := strings.TrimSpace(db.Statement.SQL.String())
	op := st.op
	if first, _, _ := strings.Cut(sql, " "); op == "" && first != "" {
		op = strings.ToUpper(first)
	}
	name := op
	if name == "" {
		name = "SQL"
	}
	// The model's table, not an alias the query gave it
	// (Table("sigil_clients AS c") leaves "c" in Statement.Table).
	table := db.Statement.Table
	if db.Statement.Schema != nil && db.Statement.Schema.Table != "" {
		table = db.Statement.Schema.Table
	} else if expr := db.Statement.TableExpr; expr != nil {
		if first, _, _ := strings.Cut(strings.TrimSpace(expr.SQL), " "); first != "" {
			table = strings.Trim(first, "`\"")
		}
	}
	if table != "" {
		name += " " + table
		st.span.SetAttributes(semconv.DBCollectionName(table))
	}
	st.span.SetName(name)
	if op != "" {
		st.span.SetAttributes(semconv.DBOperationName(op))
	}
	if sql != "" {
		// The statement with its placeholders, never the values bound
		// to them.
		st.span.SetAttributes(semconv.DBQueryText(sql))
	}
	err := db.Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		err = nil // no row is an answer
	}
	endSpan(st.span, err)
}

// dbSystem is the semantic conventions' name of a Gorm dialect.
func dbSystem(dialect string) string {
	switch dialect {
	case "postgres":
		return "postgresql"
	default:
		return dialect
	}
}

// tracedTokens gives the Redis token store's saves and lookups their
// client spans. The store sends them in one pipeline shared by the
// requests of the moment, under the pipeline's own context, so the Redis
// hook cannot tie them to a request: the span is made here, in the
// request's trace, and times the wait for the pipeline too. Deletes go
// out on their own and get the hook's span.
type tracedTokens struct {
	application.TokenStore
	tracer trace.Tracer
	attrs  []attribute.KeyValue
}

func traceBatchedTokens(s application.TokenStore, tp trace.TracerProvider, c Config) application.TokenStore {
	return tracedTokens{TokenStore: s, tracer: tp.Tracer(tracerName), attrs: redisAttributes(c)}
}

func (t tracedTokens) start(ctx context.Context, op string) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(t.attrs...), trace.WithAttributes(semconv.DBOperationName(op)))
}

func (t tracedTokens) SaveToken(ctx context.Context, tok domain.Token) error {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return t.TokenStore.SaveToken(ctx, tok)
	}
	ctx, span := t.start(ctx, "SET")
	err := t.TokenStore.SaveToken(ctx, tok)
	endSpan(span, err)
	return err
}

func (t tracedTokens) FindToken(ctx context.Context, value string) (domain.Token, error) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return t.TokenStore.FindToken(ctx, value)
	}
	ctx, span := t.start(ctx, "GET")
	tok, err := t.TokenStore.FindToken(ctx, value)
	failure := err
	if errors.Is(err, domain.ErrNotFound) {
		failure = nil // an unknown token is an answer
	}
	endSpan(span, failure)
	return tok, err
}
