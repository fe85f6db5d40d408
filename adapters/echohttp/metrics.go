package echohttp

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// HTTPMetrics counts the requests both roles serve, for Prometheus: how
// many by role, route, method and status, and how long they took. Every
// label is bounded whatever callers send: the route is the template of
// the matched route (or "unmatched"), the method one of the standard
// ones (or "other"), the status a number net/http can write.
type HTTPMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
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
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
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
			m.requests.WithLabelValues(role, route, methodLabel(c.Request().Method), strconv.Itoa(c.Response().Status)).Inc()
			m.duration.WithLabelValues(role, route).Observe(time.Since(start).Seconds())
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
