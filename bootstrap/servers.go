package bootstrap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/fx"

	"github.com/sigilauth/sigil/adapters/echohttp"
)

// listener is one HTTP server of the app: each role, the management
// module and the profiler provide theirs to the group "listeners", and
// ServersModule runs them all, so that how a server listens, drains and
// reports its errors is written once.
type listener struct {
	role    string
	addr    string
	handler http.Handler
	tls     *tls.Config // nil serves plain HTTP
	// onShutdown, when set, runs as the server starts to drain: it ends
	// the requests that would never end by themselves (the playground's
	// event streams), which Shutdown would otherwise wait out.
	onShutdown func()
}

// listenerOut provides a listener to the group.
type listenerOut struct {
	fx.Out
	Listener listener `group:"listeners"`
}

type serversParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Log       *slog.Logger
	Config    Config
	Listeners []listener `group:"listeners"`
}

// ServersModule owns the lifecycle of every listener of the app: each
// listens on start, after the start hooks of what it needs (a role's
// signing keys), and drains on stop, before them.
var ServersModule = fx.Module("servers", fx.Invoke(runListeners))

func runListeners(p serversParams) {
	for _, l := range p.Listeners {
		srv := serve(p.Lifecycle, p.Log, l.role, l.addr, l.handler, p.Config.MaxHeaderBytes, l.tls)
		if l.onShutdown != nil {
			srv.RegisterOnShutdown(l.onShutdown)
		}
	}
}

// serve runs handler on addr for the app's lifetime: it listens on start,
// so a taken port fails the start with a clear error, and drains
// connections on stop.
//
// Request headers are capped at maxHeaderBytes (net/http allows 4 KiB of
// slack beyond it): beyond that, net/http itself answers
// 431 Request Header Fields Too Large (RFC 6585 §5) with a plain-text
// body naming only the status, and closes the connection, before any
// handler or middleware runs. Without a cap, its default of 1 MiB would
// let each connection hold a megabyte of headers in memory.
//
// With a TLS configuration it serves HTTPS only, HTTP/2 included (net/http
// adds h2 to the offered protocols); a plain HTTP request there is
// answered 400 by net/http.
func serve(lc fx.Lifecycle, log *slog.Logger, role, addr string, handler http.Handler, maxHeaderBytes int, tlsConf *tls.Config) *http.Server {
	// Each server gets a copy: net/http writes its protocols (h2) into the
	// configuration as the server starts, and the listeners of one node
	// share the certificate's.
	if tlsConf != nil {
		tlsConf = tlsConf.Clone()
	}
	srv := &http.Server{
		TLSConfig:         tlsConf,
		Addr:              addr,
		Handler:           handler,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          stdlog.New(serverErrors{log}, "", 0),
	}
	served := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("%s server: %w", role, err)
			}
			scheme := "http"
			if tlsConf != nil {
				scheme = "https"
			}
			log.Info("listening", "role", role, "addr", ln.Addr().String(), "scheme", scheme)
			go func() {
				defer close(served)
				var err error
				if tlsConf != nil {
					err = srv.ServeTLS(ln, "", "") // the certificate comes from GetCertificate
				} else {
					err = srv.Serve(ln)
				}
				if err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error("server stopped", "role", role, "err", err)
				}
			}()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			log.Info("shutting down", "role", role)
			err := srv.Shutdown(ctx)
			// Serve returns as soon as Shutdown begins; it has, once this
			// hook returns.
			<-served
			return err
		},
	})
	return srv
}

// serverErrors writes net/http's own complaints to the log as warnings,
// but a failed TLS handshake at debug level: port scanners, TCP health
// probes and plain HTTP sent to an HTTPS port make one each, and none is
// the server's fault.
type serverErrors struct{ log *slog.Logger }

func (w serverErrors) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		level = slog.LevelDebug
	}
	w.log.Log(context.Background(), level, msg)
	return len(p), nil
}

// readyTimeout bounds a readiness check, so that /readyz answers within a
// second even while a dependency hangs: one known to be down is reported
// at once by its gate, and the others get this long to answer a ping.
const readyTimeout = 800 * time.Millisecond

// readyAll combines readiness checks, run at the same time; zero checks
// are skipped. The error names every dependency that did not answer.
func readyAll(checks ...readiness) func(ctx context.Context) error {
	var live []readiness
	for _, c := range checks {
		if c.check != nil {
			live = append(live, c)
		}
	}
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		errs := make([]error, len(live))
		var wg sync.WaitGroup
		for i, c := range live {
			wg.Go(func() { errs[i] = c.check(ctx) })
		}
		wg.Wait()
		var down echohttp.NotReady
		for i, err := range errs {
			if err != nil {
				down.Down = append(down.Down, live[i].name)
				down.Causes = append(down.Causes, err)
			}
		}
		if len(down.Down) > 0 {
			return &down
		}
		return nil
	}
}
