// Package gate keeps track of whether a dependency (the database, Redis)
// answers, so that requests needing one that is known to be down fail at
// once instead of each waiting out its own deadline, and so that an outage
// writes a few log lines instead of one per request.
//
// A gate is open while the dependency answers. The first call that fails
// because the dependency is unreachable closes it and logs one warning;
// from then on Allow refuses in a few nanoseconds, and a background probe
// asks the dependency every probe interval until it answers, which opens
// the gate again and logs one line. While it is closed a line every
// report interval says how many requests were refused.
//
// It is not a general circuit breaker (sony/gobreaker and the like): those
// take a mutex on every call and learn of recovery by letting trial
// requests through, while here the hot path is one atomic load and
// recovery is found by the probe, without risking a caller's request.
package gate

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultProbeInterval  = 200 * time.Millisecond
	DefaultReportInterval = 10 * time.Second
)

// Options tune a gate; the zero value is usable.
type Options struct {
	// ProbeTimeout bounds one probe; 0 means one second.
	ProbeTimeout time.Duration
	// ProbeInterval is the time between probes while the dependency is
	// down; 0 means DefaultProbeInterval.
	ProbeInterval time.Duration
	// ReportInterval is how often the count of refused requests is logged
	// while the dependency is down; 0 means DefaultReportInterval.
	ReportInterval time.Duration
	// Logger receives the transitions; nil discards them.
	Logger *slog.Logger
}

// Gate is the state of one dependency. Its methods are safe for
// concurrent use; a nil *Gate is always open.
type Gate struct {
	name  string
	probe func(ctx context.Context) error
	opts  Options

	closed  atomic.Bool
	refused atomic.Int64

	mu      sync.Mutex
	probing bool
	stop    chan struct{}
	stopped bool
	wg      sync.WaitGroup
}

// New returns an open gate for the dependency called name (it appears in
// the log and in /readyz), which probe asks whether it answers.
func New(name string, probe func(ctx context.Context) error, opts Options) *Gate {
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = time.Second
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = DefaultProbeInterval
	}
	if opts.ReportInterval <= 0 {
		opts.ReportInterval = DefaultReportInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Gate{name: name, probe: probe, opts: opts, stop: make(chan struct{})}
}

// Name is the dependency's name.
func (g *Gate) Name() string { return g.name }

// Open reports whether the dependency is believed to answer.
func (g *Gate) Open() bool { return g == nil || !g.closed.Load() }

// Allow reports whether a call may go to the dependency: true while the
// gate is open. A refusal is counted for the periodic report.
func (g *Gate) Allow() bool {
	if g == nil || !g.closed.Load() {
		return true
	}
	g.refused.Add(1)
	return false
}

// Fail closes the gate after a call found the dependency unreachable, and
// starts the probe that opens it again. cause is logged, once per outage.
func (g *Gate) Fail(cause error) {
	if g == nil || g.closed.Load() {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.probing || g.stopped {
		return
	}
	g.probing = true
	g.refused.Store(0)
	g.closed.Store(true)
	g.opts.Logger.Warn("dependency down: failing requests that need it fast until it answers again",
		"dependency", g.name, "error", cause.Error())
	g.wg.Add(1)
	go g.watch(time.Now())
}

// watch probes the dependency until it answers, then opens the gate.
func (g *Gate) watch(since time.Time) {
	defer g.wg.Done()
	probe := time.NewTicker(g.opts.ProbeInterval)
	defer probe.Stop()
	report := time.NewTicker(g.opts.ReportInterval)
	defer report.Stop()
	var reported int64
	for {
		select {
		case <-g.stop:
			return
		case <-report.C:
			n := g.refused.Load()
			g.opts.Logger.Warn("dependency still down", "dependency", g.name,
				"down_for", time.Since(since).Round(time.Millisecond).String(), "refused_since_last", n-reported)
			reported = n
		case <-probe.C:
			ctx, cancel := context.WithTimeout(context.Background(), g.opts.ProbeTimeout)
			err := g.probe(ctx)
			cancel()
			if err != nil {
				continue
			}
			g.mu.Lock()
			g.closed.Store(false)
			g.probing = false
			g.mu.Unlock()
			g.opts.Logger.Info("dependency is back", "dependency", g.name,
				"down_for", time.Since(since).Round(time.Millisecond).String(), "refused", g.refused.Load())
			return
		}
	}
}

// Close stops a running probe; the gate stays as it is. Call it when the
// dependency's client is closed.
func (g *Gate) Close() {
	if g == nil {
		return
	}
	g.mu.Lock()
	if !g.stopped {
		g.stopped = true
		close(g.stop)
	}
	g.mu.Unlock()
	g.wg.Wait()
}
