package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.uber.org/fx"
)

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
func serve(lc fx.Lifecycle, log *slog.Logger, role, addr string, handler http.Handler, maxHeaderBytes int) {
	srv := &http.Server{
		Addr:              addr,
		Handler:           handler,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("%s server: %w", role, err)
			}
			log.Info("listening", "role", role, "addr", ln.Addr().String())
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error("server stopped", "role", role, "err", err)
				}
			}()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			log.Info("shutting down", "role", role)
			return srv.Shutdown(ctx)
		},
	})
}

// readyAll combines readiness checks; nil checks are skipped.
func readyAll(checks ...readiness) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		for _, c := range checks {
			if c == nil {
				continue
			}
			if err := c(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}
