package bootstrap

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/fx"

	"github.com/sigilauth/sigil/adapters/adminhttp"
	"github.com/sigilauth/sigil/adapters/auditlog"
	"github.com/sigilauth/sigil/adapters/echohttp"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// managementModule serves the management listener on admin-addr: the
// Prometheus metrics, apart from the public listeners so that they are
// never exposed with them. Without admin-addr nothing is counted: the
// request metrics (a nil *echohttp.HTTPMetrics) cost nothing.
func managementModule(c Config) fx.Option {
	if c.AdminAddr == "" {
		return fx.Provide(func() *echohttp.HTTPMetrics { return nil })
	}
	return fx.Options(
		fx.Module("management",
			fx.Provide(newMetricsRegistry, newHTTPMetrics, newStoreMetrics, newFeedState),
			fx.Provide(managementListener),
			fx.Invoke(instrumentStores),
		),
		// At the root, so that every role's outbound calls are counted.
		fx.Decorate(instrumentOutbound),
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

type managementParams struct {
	fx.In
	Log      *slog.Logger
	Config   Config
	Registry *prometheus.Registry
	// Admin is there when the node runs the auth role: the admin API
	// changes the authorization server's clients and keys.
	Admin *Admin `optional:"true"`
	TLS   serverTLS
}

// managementListener serves the metrics and the admin API.
func managementListener(p managementParams) (listenerOut, error) {
	log, c, reg := p.Log, p.Config, p.Registry
	mux := http.NewServeMux()
	tlsConf, err := managementTLS(c, p.TLS)
	if err != nil {
		return listenerOut{}, err
	}
	if err := mountAdminAPI(mux, p, tlsConf != nil); err != nil {
		return listenerOut{}, err
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A collector that fails is logged and left out of the scrape,
		// rather than failing the whole of it.
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	// Plain HTTP, as the profiler: the listener is for loopback or a
	// private network, where the scraper runs.
	return listenerOut{Listener: listener{role: "management", addr: c.AdminAddr, handler: mux, tls: tlsConf}}, nil
}

// mountAdminAPI serves the admin API under /admin/v1 when the node runs
// the auth role, and says at start whether it is on: it is off, refusing
// every request, until an admin token is configured.
func mountAdminAPI(mux *http.ServeMux, p managementParams, clientCerts bool) error {
	if p.Admin == nil {
		p.Log.Info("admin API off: this node does not run the auth role")
		return nil
	}
	hash, err := adminTokenHash(p.Config)
	if err != nil {
		return err
	}
	scheme := "http://"
	if clientCerts {
		scheme = "https://"
	}
	url := scheme + p.Config.AdminAddr + adminhttp.Prefix
	switch {
	case hash == nil && !clientCerts:
		p.Log.Info("admin API off: no admin token; set admin-token-file or admin-token-sha256 to turn it on", "url", url)
	case hash == nil:
		p.Log.Info("admin API on", "url", url, "auth", "client certificates")
	case clientCerts:
		p.Log.Info("admin API on", "url", url, "auth", "token or client certificate")
	default:
		p.Log.Info("admin API on", "url", url, "auth", "token")
	}
	mux.Handle(adminhttp.Prefix+"/", adminhttp.New(p.Admin, adminhttp.Options{
		TokenSHA256:        hash,
		ClientCertificates: clientCerts,
		MaxBodyBytes:       p.Config.MaxBodyBytes,
		Logger:             p.Log,
	}))
	return nil
}

// keyCollector reports the auth role's signing keys as its ring holds
// them: how many in each state, and when the schedule next changes them.
type keyCollector struct {
	ring   *application.KeyRing
	policy domain.RotationPolicy
	keys   *prometheus.Desc
	next   *prometheus.Desc
}

func newKeyCollector(ring *application.KeyRing, policy domain.RotationPolicy) *keyCollector {
	return &keyCollector{
		ring: ring, policy: policy,
		keys: prometheus.NewDesc("sigil_signing_keys", "Signing keys this node holds, by state and algorithm.",
			[]string{"state", "algorithm"}, nil),
		next: prometheus.NewDesc("sigil_signing_key_next_rotation_timestamp_seconds",
			"When the staged rotation next changes the keys on its own (a key published or activated), as a Unix time; absent when none is scheduled.",
			nil, nil),
	}
}

func (k *keyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- k.keys; ch <- k.next }

func (k *keyCollector) Collect(ch chan<- prometheus.Metric) {
	keys := k.ring.Published()
	type stateAlg struct{ state, alg string }
	counts := map[stateAlg]int{}
	for _, s := range []domain.KeyState{domain.KeyPublished, domain.KeyActive, domain.KeyRetired} {
		counts[stateAlg{string(s), string(k.policy.Algorithm)}] = 0
	}
	for _, key := range keys {
		counts[stateAlg{string(key.State), string(key.Algorithm)}]++
	}
	for sa, n := range counts {
		ch <- prometheus.MustNewConstMetric(k.keys, prometheus.GaugeValue, float64(n), sa.state, sa.alg)
	}
	if next := domain.NextRotation(keys, k.policy); !next.IsZero() {
		ch <- prometheus.MustNewConstMetric(k.next, prometheus.GaugeValue, float64(next.Unix()))
	}
}

type keyMetricsParams struct {
	fx.In
	Registry *prometheus.Registry `optional:"true"`
	Ring     *application.KeyRing
	Config   Config
}

// registerKeyMetrics adds the signing keys to the metrics, when they are
// served.
func registerKeyMetrics(p keyMetricsParams) error {
	if p.Registry == nil {
		return nil
	}
	return p.Registry.Register(newKeyCollector(p.Ring, p.Config.RotationPolicy()))
}

// cacheCollector reports one cache's lookups, hits and misses, so that a
// hit ratio is rate(hit) / rate(hit + miss).
type cacheCollector struct {
	stats func() application.CacheStats
	desc  *prometheus.Desc
}

func newCacheCollector(name string, stats func() application.CacheStats) *cacheCollector {
	return &cacheCollector{stats: stats, desc: prometheus.NewDesc("sigil_cache_lookups_total",
		"Lookups in a cache, by whether they found what they looked for.",
		[]string{"result"}, prometheus.Labels{"cache": name})}
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(s.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(s.Misses), "miss")
}

// cacheStatser is a cache that counts its lookups.
type cacheStatser interface{ CacheStats() application.CacheStats }

type authCacheParams struct {
	fx.In
	Registry     *prometheus.Registry `optional:"true"`
	Clients      *application.ClientCache
	Authenticate *application.AuthenticateClient
}

// registerAuthCacheMetrics adds the auth role's caches to the metrics,
// client records and verified client secrets (which spare the slow hash),
// and the slow hash's slots.
func registerAuthCacheMetrics(p authCacheParams) error {
	if p.Registry == nil {
		return nil
	}
	return errors.Join(
		p.Registry.Register(newCacheCollector("client", p.Clients.CacheStats)),
		p.Registry.Register(newCacheCollector("credential", p.Authenticate.CredentialCacheStats)),
		p.Registry.Register(newHashCollector(p.Authenticate.HashSlotStats)),
	)
}

type resourceCacheParams struct {
	fx.In
	Registry   *prometheus.Registry `optional:"true"`
	Verifier   application.AccessTokenVerifier
	Introspect application.TokenIntrospector
}

// registerResourceCacheMetrics adds the resource role's caches: verified
// JWTs, and introspection answers when they are reused at all.
func registerResourceCacheMetrics(p resourceCacheParams) error {
	if p.Registry == nil {
		return nil
	}
	var errs []error
	for name, c := range map[string]any{"jwt": p.Verifier, "introspection": p.Introspect} {
		if s, ok := c.(cacheStatser); ok {
			errs = append(errs, p.Registry.Register(newCacheCollector(name, s.CacheStats)))
		}
	}
	return errors.Join(errs...)
}

// hashCollector reports the slow-hash slots: how many, how many busy, the
// hashes run and failed, the requests refused for want of a slot (503)
// and the time spent waiting for one.
type hashCollector struct {
	stats                                  func() application.HashSlotStats
	size, inUse, hashes, refused, waitTime *prometheus.Desc
}

func newHashCollector(stats func() application.HashSlotStats) *hashCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &hashCollector{
		stats:    stats,
		size:     d("sigil_hash_slots", "Slow secret hashes (argon2id, bcrypt) allowed at once (hash-concurrency)."),
		inUse:    d("sigil_hash_slots_in_use", "Slow secret hashes running now."),
		hashes:   d("sigil_hashes_total", "Slow secret hashes run, by whether the secret matched.", "result"),
		refused:  d("sigil_hash_slot_refused_total", "Requests answered 503 because no hash slot freed up within hash-queue-wait."),
		waitTime: d("sigil_hash_slot_wait_seconds_total", "Time requests spent waiting for a hash slot."),
	}
}

func (h *hashCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{h.size, h.inUse, h.hashes, h.refused, h.waitTime} {
		ch <- d
	}
}

func (h *hashCollector) Collect(ch chan<- prometheus.Metric) {
	s := h.stats()
	ch <- prometheus.MustNewConstMetric(h.size, prometheus.GaugeValue, float64(s.Size))
	ch <- prometheus.MustNewConstMetric(h.inUse, prometheus.GaugeValue, float64(s.InUse))
	ch <- prometheus.MustNewConstMetric(h.hashes, prometheus.CounterValue, float64(s.Hashed-s.Failed), "match")
	ch <- prometheus.MustNewConstMetric(h.hashes, prometheus.CounterValue, float64(s.Failed), "mismatch")
	ch <- prometheus.MustNewConstMetric(h.refused, prometheus.CounterValue, float64(s.Refused))
	ch <- prometheus.MustNewConstMetric(h.waitTime, prometheus.CounterValue, s.Waited.Seconds())
}

// countingAuditor counts the tokens issued and revoked, for the metrics,
// and passes every event on to the audit log.
type countingAuditor struct {
	inner   application.Auditor
	issued  *prometheus.CounterVec
	revoked *prometheus.CounterVec
	// byClient, when metrics-client-limit is set, counts tokens issued by
	// client id for the first clients to get one, and "other" after them.
	byClient *prometheus.CounterVec
	clients  *echohttp.BoundedLabel
}

func newCountingAuditor(inner application.Auditor, reg prometheus.Registerer, clientLimit int) (*countingAuditor, error) {
	a := &countingAuditor{
		inner: inner,
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_tokens_issued_total",
			Help: "Access tokens issued, by format and, for JWTs, signing algorithm (none for opaque tokens).",
		}, []string{"format", "algorithm"}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_tokens_revoked_total",
			Help: "Access tokens revoked (RFC 7009), by format.",
		}, []string{"format"}),
	}
	if err := errors.Join(reg.Register(a.issued), reg.Register(a.revoked)); err != nil {
		return nil, err
	}
	if clientLimit > 0 {
		a.clients = echohttp.NewBoundedLabel(clientLimit, "none")
		a.byClient = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_tokens_issued_by_client_total",
			Help: "Access tokens issued, by client id, for the first metrics-client-limit clients to get one; the rest under client_id=\"other\".",
		}, []string{"client_id"})
		if err := reg.Register(a.byClient); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (a *countingAuditor) Audit(ctx context.Context, e application.AuditEvent) {
	switch e.Kind {
	case application.AuditTokenIssued:
		alg := string(e.Algorithm)
		if alg == "" {
			alg = "none"
		}
		a.issued.WithLabelValues(string(e.Format), alg).Inc()
		if a.byClient != nil {
			a.byClient.WithLabelValues(a.clients.Value(e.ClientID)).Inc()
		}
	case application.AuditTokenRevoked:
		a.revoked.WithLabelValues(string(e.Format)).Inc()
	}
	a.inner.Audit(ctx, e)
}

type auditorParams struct {
	fx.In
	Log      *slog.Logger
	Config   Config
	Registry *prometheus.Registry `optional:"true"`
}

// newAuditor writes audit events to the log, and counts the tokens among
// them when the metrics are served.
func newAuditor(p auditorParams) (application.Auditor, error) {
	a := auditlog.New(p.Log)
	if p.Registry == nil {
		return a, nil
	}
	return newCountingAuditor(a, p.Registry, p.Config.MetricsClientLimit)
}
