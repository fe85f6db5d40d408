package bootstrap

import (
	"io"
	"log/slog"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
)

// NewLogger builds the process logger from the log settings.
func NewLogger(c Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// fxLogger sends fx's own events to the process logger at debug level, so
// a normal start prints Sigil's lines, not the dependency graph.
func fxLogger(l *slog.Logger) fx.Option {
	return fx.WithLogger(func() fxevent.Logger {
		fl := &fxevent.SlogLogger{Logger: l}
		fl.UseLogLevel(slog.LevelDebug)
		return fl
	})
}
