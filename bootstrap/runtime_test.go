package bootstrap_test

import (
	"runtime/debug"
	"testing"

	"github.com/sigilauth/sigil/bootstrap"
)

func TestTuneGCRaisesTheTargetUnlessGOGCIsSet(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if k == "GOGC" {
				return v, true
			}
			return "", false
		}
	}
	if got := bootstrap.TuneGC(env("")); got != "400" {
		t.Errorf("TuneGC without GOGC reports %q, want 400", got)
	}
	if got := debug.SetGCPercent(100); got != bootstrap.DefaultGCPercent {
		t.Errorf("without GOGC the target is %d, want %d", got, bootstrap.DefaultGCPercent)
	}
	// With GOGC set, the runtime applied it at start: TuneGC leaves it.
	if got := bootstrap.TuneGC(env("150")); got != "150" {
		t.Errorf("TuneGC with GOGC=150 reports %q", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, TuneGC changed the target to %d", got)
	}
}
