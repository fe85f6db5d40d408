package bootstrap

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/fx"

	"github.com/sigilauth/sigil/adapters/echohttp"
)

// managementModule serves the management listener on admin-addr: the
// Prometheus metrics, apart from the public listeners so that they are
// never exposed with them. Without admin-addr nothing is counted: the
// request metrics (a nil *echohttp.HTTPMetrics) cost nothing.
func managementModule(c Config) fx.Option {
	if c.AdminAddr == "" {
		return fx.Provide(func() *echohttp.HTTPMetrics { return nil })
	}
	return fx.Module("management",
		fx.Provide(newMetricsRegistry, newHTTPMetrics),
		fx.Invoke(startManagement),
	)
}

// newMetricsRegistry is the registry of every Sigil metric, with the Go
// runtime's, the process's (CPU, memory, file descriptors) and the build's
// (go_build_info: module version and checksum).
func newMetricsRegistry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

func newHTTPMetrics(reg *prometheus.Registry) (*echohttp.HTTPMetrics, error) {
	return echohttp.NewHTTPMetrics(reg)
}

func startManagement(lc fx.Lifecycle, log *slog.Logger, c Config, reg *prometheus.Registry) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A collector that fails is logged and left out of the scrape,
		// rather than failing the whole of it.
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	// Plain HTTP, as the profiler: the listener is for loopback or a
	// private network, where the scraper runs.
	serve(lc, log, "management", c.AdminAddr, mux, c.MaxHeaderBytes, nil)
}
