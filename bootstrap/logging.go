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

// fxLogger sends fx's own events to the process logger only when they
// carry an error (a constructor, hook or invocation that failed), and
// then at debug level: the command that started the app reports the
// failure once, by its cause (a port in use), where fx would add three
// lines of its own account of it. The others (one per constructor provided, run and invoked,
// some 180 at each start, with stack traces) describe the dependency
// graph, not the server: even --log-level debug leaves them out, so that
// it shows what Sigil does. Sigil's own lines say what started.
func fxLogger(l *slog.Logger) fx.Option {
	return fx.WithLogger(func() fxevent.Logger {
		inner := &fxevent.SlogLogger{Logger: l}
		inner.UseErrorLevel(slog.LevelDebug)
		return fxFailures{inner: inner}
	})
}

// fxFailures passes on the fx events that report an error.
type fxFailures struct{ inner fxevent.Logger }

func (f fxFailures) LogEvent(e fxevent.Event) {
	if fxEventError(e) != nil {
		f.inner.LogEvent(e)
	}
}

// fxEventError is the error an fx event reports, if any.
func fxEventError(e fxevent.Event) error {
	switch e := e.(type) {
	case *fxevent.OnStartExecuted:
		return e.Err
	case *fxevent.OnStopExecuted:
		return e.Err
	case *fxevent.Supplied:
		return e.Err
	case *fxevent.Provided:
		return e.Err
	case *fxevent.Replaced:
		return e.Err
	case *fxevent.Decorated:
		return e.Err
	case *fxevent.Run:
		return e.Err
	case *fxevent.Invoked:
		return e.Err
	case *fxevent.Started:
		return e.Err
	case *fxevent.Stopped:
		return e.Err
	case *fxevent.RollingBack:
		return e.StartErr
	case *fxevent.RolledBack:
		return e.Err
	case *fxevent.LoggerInitialized:
		return e.Err
	}
	return nil
}
