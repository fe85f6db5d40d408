package bootstrap_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/test/testenv"
)

// fxEventMessages are the messages of fx's own events.
var fxEventMessages = []string{"provided", "supplied", "run", "invoking", "invoked", "before run",
	"OnStart hook executing", "OnStart hook executed", "OnStop hook executing", "OnStop hook executed",
	"started", "initialized custom fxevent.Logger"}

// logLines reads JSON log output as records.
func logLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for line := range strings.Lines(out) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		lines = append(lines, r)
	}
	return lines
}

// A start and stop at debug level logs what Sigil does, not the
// dependency graph fx built for it.
func TestDebugStartIsShort(t *testing.T) {
	c := bootstrap.Defaults()
	dir := t.TempDir()
	c.DatabaseDSN = filepath.Join(dir, "sigil.db")
	c.AuthAddr, c.ResourceAddr = "127.0.0.1:0", "127.0.0.1:0"
	c.LogLevel, c.LogFormat = slog.LevelDebug, bootstrap.LogJSON
	var out testenv.LockedBuffer
	app := fx.New(bootstrap.App(c, bootstrap.NewLogger(c, &out)))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatalf("start: %v\n%s", err, out.String())
	}
	if err := app.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	lines := logLines(t, out.String())
	for _, r := range lines {
		for _, m := range fxEventMessages {
			if r["msg"] == m {
				t.Errorf("fx event logged: %v", r)
			}
		}
	}
	// Sigil's own: the settings, the database, the signing key's audit
	// events, the demo clients, a listener per role and the management
	// listener, shutting each down.
	if len(lines) > 20 {
		t.Errorf("a start and stop logged %d lines, want a short summary:\n%s", len(lines), out.String())
	}
	listening := map[any]int{}
	for _, r := range lines {
		if r["msg"] == "listening" {
			listening[r["role"]]++
		}
	}
	if listening["auth"] != 1 || listening["resource"] != 1 {
		t.Errorf("listening lines by role %v, want one for auth and one for resource:\n%s", listening, out.String())
	}
}

// An fx event that carries an error is still logged, at error level.
func TestFxFailuresAreLogged(t *testing.T) {
	c := bootstrap.Defaults()
	c.DatabaseDSN = filepath.Join(t.TempDir(), "sigil.db")
	c.LogFormat = bootstrap.LogJSON
	c.LogLevel = slog.LevelDebug
	var out testenv.LockedBuffer
	app := fx.New(bootstrap.App(c, bootstrap.NewLogger(c, &out)),
		fx.Invoke(func() error { return errors.New("the part that failed") }))
	if app.Err() == nil {
		t.Fatal("the app started despite a failing invocation")
	}
	found := false
	for _, r := range logLines(t, out.String()) {
		// At debug level: the command reports the failure itself.
		if r["level"] == "DEBUG" && strings.Contains(r["error"].(string), "the part that failed") {
			found = true
		}
	}
	if !found {
		t.Errorf("no error line for the failed invocation; log:\n%s", out.String())
	}
}
