package bootstrap

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"
	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/redisstore"
)

// callBuckets time calls to Redis, the database and the authorization
// server: from a pipelined Redis write (tens of microseconds) to a call
// that runs into its timeout.
var callBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// storeMetrics times every call Sigil makes to Redis and to the database,
// by store and operation, and counts those that failed. A miss (redis.Nil,
// gorm.ErrRecordNotFound) is an answer, not a failure.
type storeMetrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

func newStoreMetrics(reg *prometheus.Registry) (*storeMetrics, error) {
	m := &storeMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sigil_store_call_duration_seconds",
			Help:    "Calls to Redis and the database, by store (redis, database) and operation (the Redis command or pipeline; create, query, update, delete, row or raw).",
			Buckets: callBuckets,
		}, []string{"store", "operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_store_call_errors_total",
			Help: "Calls to Redis and the database that failed (a timeout, a refused connection, an error reply), by store and operation.",
		}, []string{"store", "operation"}),
	}
	if err := errors.Join(reg.Register(m.duration), reg.Register(m.errors)); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *storeMetrics) observe(store, op string, start time.Time, err error) {
	m.duration.WithLabelValues(store, op).Observe(time.Since(start).Seconds())
	if err != nil {
		m.errors.WithLabelValues(store, op).Inc()
	}
}

type storeMetricsParams struct {
	fx.In
	Metrics *storeMetrics
	Reg     *prometheus.Registry
	DB      *gorm.DB              `optional:"true"`
	Redis   redis.UniversalClient `optional:"true"`
}

// instrumentStores times the database's and Redis's calls, and exports
// the database pool's statistics (go_sql_*: connections open, in use,
// waits).
func instrumentStores(p storeMetricsParams) error {
	if p.Redis != nil {
		p.Redis.AddHook(redisTimer{p.Metrics})
	}
	if p.DB == nil {
		return nil
	}
	sqlDB, err := p.DB.DB()
	if err != nil {
		return err
	}
	if err := p.Reg.Register(collectors.NewDBStatsCollector(sqlDB, p.DB.Name())); err != nil {
		return err
	}
	return timeDatabase(p.DB, p.Metrics)
}

// redisTimer is a go-redis hook that times each command and pipeline. The
// command's name is a label of bounded values: Sigil sends a handful.
type redisTimer struct{ m *storeMetrics }

func (redisTimer) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisTimer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.m.observe("redis", cmd.Name(), start, redisFailure(err))
		return err
	}
}

func (h redisTimer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.m.observe("redis", "pipeline", start, redisFailure(err))
		return err
	}
}

func redisFailure(err error) error {
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

// startKey is where a statement's start time waits for its end, in the
// statement's own settings.
const startKey = "sigil:metrics_start"

// timeDatabase registers Gorm callbacks around each kind of statement.
func timeDatabase(db *gorm.DB, m *storeMetrics) error {
	cb := db.Callback()
	type register = func(name string, fn func(*gorm.DB)) error
	kinds := []struct {
		op            string
		before, after register
	}{
		{"create", cb.Create().Before("*").Register, cb.Create().After("*").Register},
		{"query", cb.Query().Before("*").Register, cb.Query().After("*").Register},
		{"update", cb.Update().Before("*").Register, cb.Update().After("*").Register},
		{"delete", cb.Delete().Before("*").Register, cb.Delete().After("*").Register},
		{"row", cb.Row().Before("*").Register, cb.Row().After("*").Register},
		{"raw", cb.Raw().Before("*").Register, cb.Raw().After("*").Register},
	}
	var errs []error
	for _, k := range kinds {
		op := k.op
		errs = append(errs,
			k.before("sigil:metrics_before_"+op, func(tx *gorm.DB) {
				tx.InstanceSet(startKey, time.Now())
			}),
			k.after("sigil:metrics_after_"+op, func(tx *gorm.DB) {
				v, ok := tx.InstanceGet(startKey)
				start, _ := v.(time.Time)
				if !ok {
					return
				}
				err := tx.Error
				if errors.Is(err, gorm.ErrRecordNotFound) {
					err = nil
				}
				m.observe("database", op, start, err)
			}),
		)
	}
	return errors.Join(errs...)
}

// upstreamMetrics counts and times the calls Sigil makes over HTTP: the
// resource role's to the authorization server's JWKS and introspection
// endpoints, and the auth role's to clients' jwks_uri.
type upstreamMetrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// instrumentOutbound wraps the transport of the client every outbound call
// goes through, so that each is counted by what it is for and how it
// ended.
func instrumentOutbound(hc *http.Client, reg *prometheus.Registry, c Config) (*http.Client, error) {
	m := &upstreamMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_upstream_requests_total",
			Help: "HTTP calls to other servers, by call (jwks, introspection, client_jwks) and outcome (success, client_error, server_error, timeout, network_error).",
		}, []string{"call", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sigil_upstream_request_duration_seconds",
			Help:    "Time to the response headers of HTTP calls to other servers, by call.",
			Buckets: callBuckets,
		}, []string{"call"}),
	}
	if err := errors.Join(reg.Register(m.calls), reg.Register(m.duration)); err != nil {
		return nil, err
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	wrapped := *hc
	wrapped.Transport = &countedTransport{next: next, m: m, jwks: c.JWKSURL(), introspection: c.IntrospectionURL()}
	return &wrapped, nil
}

// countedTransport is an http.RoundTripper that records each call.
type countedTransport struct {
	next                http.RoundTripper
	m                   *upstreamMetrics
	jwks, introspection string
}

func (t *countedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	call := "client_jwks"
	switch u := req.URL.String(); u {
	case t.jwks:
		call = "jwks"
	case t.introspection:
		call = "introspection"
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	t.m.duration.WithLabelValues(call).Observe(time.Since(start).Seconds())
	t.m.calls.WithLabelValues(call, callOutcome(req, resp, err)).Inc()
	return resp, err
}

func callOutcome(req *http.Request, resp *http.Response, err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case err != nil:
		// http.Client's Timeout cancels the request at its deadline, and
		// the transport may say only "canceled".
		if dl, ok := req.Context().Deadline(); ok && !time.Now().Before(dl) {
			return "timeout"
		}
		var timeout interface{ Timeout() bool }
		if errors.As(err, &timeout) && timeout.Timeout() {
			return "timeout"
		}
		return "network_error"
	case resp.StatusCode >= 500:
		return "server_error"
	case resp.StatusCode >= 400:
		return "client_error"
	}
	return "success"
}

// feedState is what the metrics know of the event feed between nodes:
// whether it is subscribed now, and how often it has (re)subscribed.
type feedState struct {
	subscribed   atomic.Bool
	subscription prometheus.Counter
	events       *prometheus.CounterVec
}

type feedStateParams struct {
	fx.In
	Reg    *prometheus.Registry
	Health *redisstore.Health `optional:"true"`
}

// newFeedState registers the feed's metrics. Connected means the last
// SUBSCRIBE was confirmed and Redis answers since: go-redis subscribes
// again when it reconnects, which the counter shows.
func newFeedState(p feedStateParams) (*feedState, error) {
	f := &feedState{
		subscription: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sigil_feed_subscriptions_total",
			Help: "Times this node subscribed to the event feed between nodes: once at start, then once per reconnection.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_feed_events_received_total",
			Help: "Events received from the feed between nodes, by kind (revoked, key change, client change...).",
		}, []string{"kind"}),
	}
	connected := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sigil_feed_connected",
		Help: "1 while this node is subscribed to the event feed between nodes (Redis) and Redis answers, 0 otherwise; absent without Redis.",
	}, func() float64 {
		if f.subscribed.Load() && (p.Health == nil || p.Health.Up()) {
			return 1
		}
		return 0
	})
	if err := errors.Join(p.Reg.Register(f.subscription), p.Reg.Register(f.events), p.Reg.Register(connected)); err != nil {
		return nil, err
	}
	return f, nil
}

// onSubscribed and onEvent are nil-safe: without metrics there is no state.
func (f *feedState) onSubscribed() {
	if f != nil {
		f.subscribed.Store(true)
		f.subscription.Inc()
	}
}

func (f *feedState) onEvent(kind string) {
	if f != nil {
		f.events.WithLabelValues(kind).Inc()
	}
}
