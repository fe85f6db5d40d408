package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/adapters/internal/gate"
	"github.com/sigilauth/sigil/domain"
)

// Health is what the rest of Sigil sees of Redis's availability: whether
// it is believed to answer, and a check for /readyz that never waits on a
// Redis that is known to be down.
type Health struct {
	gate    *gate.Gate
	client  redis.UniversalClient
	timeout time.Duration
}

// GuardOptions tune Guard.
type GuardOptions struct {
	// Timeout bounds every command or pipeline, from taking a connection
	// to reading the reply, unless the caller's context ends sooner.
	Timeout time.Duration
	// ProbeInterval is how often a Redis that is down is asked again; 0
	// means 200 ms.
	ProbeInterval time.Duration
	// Logger receives one line when Redis goes down, one when it is back
	// and a count of refused calls every 10 s in between.
	Logger *slog.Logger
}

// Guard puts every command the client sends under the one policy of this
// adapter, as a go-redis hook, so that no store has to remember it:
//
//   - each call runs under opts.Timeout, so a frozen Redis costs a caller
//     at most that long;
//   - a failure that means Redis cannot answer now (see classify) is
//     turned into domain.ErrTemporarilyUnavailable, which callers answer
//     with 503, and marks Redis down;
//   - while Redis is down, calls fail at once without touching the
//     network, until a probe (PING) sees it answer again.
//
// The client should be built with ContextTimeoutEnabled, so that go-redis
// honours the deadline on its connections. Call Close on the Health when
// the client is closed.
func Guard(client redis.UniversalClient, opts GuardOptions) *Health {
	h := &Health{client: client, timeout: opts.Timeout}
	h.gate = gate.New("redis", probe(client), gate.Options{ProbeTimeout: opts.Timeout, ProbeInterval: opts.ProbeInterval, Logger: opts.Logger})
	client.AddHook(guardHook{h})
	return h
}

// probe is how a Redis that is down is asked whether it is back. A PING
// through a cluster client reaches one node, which says little while a
// master has died and its replica is taking over; and go-redis would go on
// sending the dead master's slots to it until it rereads the slot map, by
// itself only every 10 s. So for a cluster the probe asks for the slot map
// again and pings every master in it: Redis is back once each slot has a
// master that answers.
func probe(client redis.UniversalClient) func(ctx context.Context) error {
	cluster, ok := client.(*redis.ClusterClient)
	if !ok {
		return func(ctx context.Context) error {
			return client.Ping(context.WithValue(ctx, probeKey{}, true)).Err()
		}
	}
	return func(ctx context.Context) error {
		ctx = context.WithValue(ctx, probeKey{}, true)
		cluster.ReloadState(ctx)
		return cluster.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			return m.Ping(ctx).Err()
		})
	}
}

// Up reports whether Redis is believed to answer.
func (h *Health) Up() bool { return h.gate.Open() }

// Check is the readiness check: an error at once while Redis is known to
// be down, else a PING bounded by the timeout.
func (h *Health) Check(ctx context.Context) error {
	if !h.gate.Open() {
		return errDown
	}
	return h.client.Ping(ctx).Err()
}

// Close stops the probe of an outage in progress.
func (h *Health) Close() { h.gate.Close() }

// probeKey marks the probe's own PING, which must reach Redis while the
// gate refuses everything else.
type probeKey struct{}

// errDown is what a call gets while Redis is known to be down.
var errDown = fmt.Errorf("redis is down: %w", domain.ErrTemporarilyUnavailable)

type guardHook struct{ h *Health }

// DialHook hands a failed dial back to go-redis as a connection that
// fails on first use, with the dial's own error. go-redis has a dial
// breaker of its own: after as many failed dials as its pool has slots it
// stops dialing and tries again once a second, which would hold recovery
// back by up to a second after Redis returns. The gate already keeps
// callers off a Redis that is down, and its probe must reach Redis the
// moment it is back: so the pool never counts a failed dial, the command
// fails with the dial's error (which classify sees as unavailable), and
// go-redis drops the connection.
func (g guardHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if err != nil {
			return failedConn{err: err}, nil
		}
		return conn, nil
	}
}

// failedConn is a dial that failed, as a connection: every read and write
// returns the dial's error.
type failedConn struct{ err error }

func (c failedConn) Read([]byte) (int, error)         { return 0, c.err }
func (c failedConn) Write([]byte) (int, error)        { return 0, c.err }
func (c failedConn) Close() error                     { return nil }
func (c failedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c failedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c failedConn) SetDeadline(time.Time) error      { return nil }
func (c failedConn) SetReadDeadline(time.Time) error  { return nil }
func (c failedConn) SetWriteDeadline(time.Time) error { return nil }

func (g guardHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !g.allow(ctx) {
			cmd.SetErr(errDown)
			return errDown
		}
		ctx, cancel := g.bound(ctx)
		err := next(ctx, cmd)
		cancel()
		if err == nil {
			return nil
		}
		if c, down := classify(err); down {
			g.h.gate.Fail(err)
			cmd.SetErr(c)
			return c
		}
		return err
	}
}

func (g guardHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !g.allow(ctx) {
			for _, c := range cmds {
				c.SetErr(errDown)
			}
			return errDown
		}
		ctx, cancel := g.bound(ctx)
		err := next(ctx, cmds)
		cancel()
		var cause error
		for _, c := range cmds {
			if e := c.Err(); e != nil {
				if wrapped, down := classify(e); down {
					cause = e
					c.SetErr(wrapped)
				}
			}
		}
		if err != nil {
			if wrapped, down := classify(err); down {
				cause, err = err, wrapped
			}
		}
		if cause != nil {
			g.h.gate.Fail(cause)
		}
		return err
	}
}

// allow lets a call through while Redis is up, and the probe always.
func (g guardHook) allow(ctx context.Context) bool {
	if g.h.gate.Open() {
		return true
	}
	if ctx.Value(probeKey{}) != nil {
		return true
	}
	return g.h.gate.Allow()
}

// bound gives ctx the adapter's deadline unless it already has a sooner
// one.
func (g guardHook) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if g.h.timeout <= 0 {
		return ctx, func() {}
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= g.h.timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, g.h.timeout)
}

// unavailableError is a Redis failure that means "not now": it matches
// domain.ErrTemporarilyUnavailable and keeps the cause for the log.
type unavailableError struct{ cause error }

func (e *unavailableError) Error() string { return "redis unavailable: " + e.cause.Error() }
func (e *unavailableError) Unwrap() []error {
	return []error{domain.ErrTemporarilyUnavailable, e.cause}
}

// classify tells whether err means Redis cannot answer now, rather than
// that the command was wrong or the key missing, and if so returns it as
// an error matching domain.ErrTemporarilyUnavailable. It is the one place
// this adapter decides that: the network failed (refused, reset, broken
// pipe, end of stream, timeout, our own deadline), the pool had no
// connection in time, or Redis said it cannot serve yet (LOADING a
// dataset, CLUSTERDOWN, READONLY or MASTERDOWN during a fail-over,
// TRYAGAIN during resharding, too many clients), or no Sentinel or cluster
// node could be reached.
func classify(err error) (error, bool) {
	if err == nil || errors.Is(err, redis.Nil) {
		return err, false
	}
	if errors.Is(err, domain.ErrTemporarilyUnavailable) {
		return err, true
	}
	switch {
	case gate.NetworkFailure(err),
		errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, redis.ErrPoolExhausted),
		redis.IsLoadingError(err),
		redis.IsClusterDownError(err),
		redis.IsReadOnlyError(err),
		redis.IsMasterDownError(err),
		redis.IsTryAgainError(err),
		redis.IsMaxClientsError(err):
		return &unavailableError{cause: err}, true
	}
	// Sentinel and Cluster say that none of their servers answer in words
	// only.
	msg := err.Error()
	for _, words := range []string{"all sentinels specified in configuration are unreachable",
		"cluster has no nodes", "all ring shards are down"} {
		if strings.Contains(msg, words) {
			return &unavailableError{cause: err}, true
		}
	}
	return err, false
}

// RouteDriverLog sends go-redis's own log (a line for every failed dial
// or dropped connection, which during an outage means several a second)
// to logger at debug level instead of standard error: the gate already
// says, once, that Redis is down. go-redis has one logger per process.
func RouteDriverLog(logger *slog.Logger) {
	if logger == nil {
		return
	}
	redis.SetLogger(driverLog{logger})
}

type driverLog struct{ l *slog.Logger }

func (d driverLog) Printf(ctx context.Context, format string, v ...any) {
	if d.l.Enabled(ctx, slog.LevelDebug) {
		d.l.DebugContext(ctx, "redis driver: "+fmt.Sprintf(format, v...))
	}
}
