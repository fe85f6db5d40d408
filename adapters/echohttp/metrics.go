package echohttp

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigilauth/sigil/domain"
)

// HTTPMetrics counts the requests both roles serve, for Prometheus: how
// many by role, route, method and status, and how long they took. Every
// label is bounded whatever callers send: the route is the template of
// the matched route (or "unmatched"), the method one of the standard
// ones (or "other"), the status a number net/http can write.
type HTTPMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// authFailures counts refused client authentications by reason, and
	// throttled the requests turned away before any work (a caller over
	// its failure count or rate, or no hash slot free: shed).
	authFailures *prometheus.CounterVec
	throttled    *prometheus.CounterVec
	reasons      *BoundedLabel

	// series caches the counter and histogram of each label set seen, so
	// that a request costs a map lookup rather than hashing its labels
	// and allocating their slice twice. Its keys are bounded as the
	// labels are.
	mu     sync.RWMutex
	series map[seriesKey]requestSeries
}

type seriesKey struct {
	role, route, method string
	code                int
}

type requestSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func (m *HTTPMetrics) seriesOf(k seriesKey) requestSeries {
	m.mu.RLock()
	s, ok := m.series[k]
	m.mu.RUnlock()
	if ok {
		return s
	}
	s = requestSeries{
		requests: m.requests.WithLabelValues(k.role, k.route, k.method, strconv.Itoa(k.code)),
		duration: m.duration.WithLabelValues(k.role, k.route),
	}
	m.mu.Lock()
	m.series[k] = s
	m.mu.Unlock()
	return s
}

// NewHTTPMetrics registers the request metrics with reg.
func NewHTTPMetrics(reg prometheus.Registerer) (*HTTPMetrics, error) {
	m := &HTTPMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sigil", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by role, route template, method and status code.",
		}, []string{"role", "route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sigil", Subsystem: "http", Name: "request_duration_seconds",
			Help: "Time from a request's arrival to its answer, by role and route template.",
			// From a cached bearer check (tens of microseconds) to a slow
			// hash waiting for its slot and an upstream timeout.
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"role", "route"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sigil", Name: "client_auth_failures_total",
			Help: "Client authentications refused (invalid_client), by reason: wrong secret, unknown client, assertion replayed...",
		}, []string{"reason"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sigil", Name: "requests_throttled_total",
			Help: "Requests turned away before any work, by role and reason: failures (too many failed authentications), rate (over the client's rate limit), busy (shed: no slot for the slow hash).",
		}, []string{"role", "reason"}),
		reasons: NewBoundedLabel(maxReasonLabels, "unspecified"),
		series:  make(map[seriesKey]requestSeries),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.authFailures, m.throttled} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// middleware records each request of role; the outermost, so that it sees
// the final status, the error handler's included.
func (m *HTTPMetrics) middleware(role string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				// Answer now, as echo would after the chain, so the status
				// recorded is the one sent.
				c.Error(err)
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			s := m.seriesOf(seriesKey{role: role, route: route, method: methodLabel(c.Request().Method), code: c.Response().Status})
			s.requests.Inc()
			s.duration.Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

// methodLabel keeps the method label to the standard methods: a method is
// any token a caller cares to send.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// refused counts what an error answer says of the request: a client
// authentication that failed, or a request throttled.
func (m *HTTPMetrics) refused(role string, r response) {
	switch {
	case r.throttled != "":
		m.throttled.WithLabelValues(role, r.throttled).Inc()
	case r.code == string(domain.CodeInvalidClient):
		m.authFailures.WithLabelValues(m.reasons.Value(r.reason)).Inc()
	}
}

// maxReasonLabels bounds the reason label. Reasons are the server's own
// words, not the caller's, so they are few; the bound keeps a slip (a
// reason that quotes its input) from growing the series without end.
const maxReasonLabels = 64

// BoundedLabel passes on the first max distinct values of a metric label,
// and "other" for any after them, so that values a label takes from
// outside (reasons, client ids) cannot grow the series without end.
type BoundedLabel struct {
	max   int
	empty string
	mu    sync.Mutex
	seen  map[string]struct{}
}

// NewBoundedLabel bounds a label to max values; empty stands for "".
func NewBoundedLabel(max int, empty string) *BoundedLabel {
	return &BoundedLabel{max: max, empty: empty, seen: make(map[string]struct{})}
}

// Value is v, or "other" once max other values have been seen.
func (b *BoundedLabel) Value(v string) string {
	if v == "" {
		return b.empty
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.seen[v]; ok {
		return v
	}
	if len(b.seen) >= b.max {
		return "other"
	}
	b.seen[v] = struct{}{}
	return v
}
