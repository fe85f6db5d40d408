package bootstrap_test

import (
	"math"
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

func TestTuneMemorySetsASoftLimitUnlessGOMEMLIMITIsSet(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	c := bootstrap.Defaults()
	c.HashConcurrency = 2
	none := func(string) (string, bool) { return "", false }
	if got := bootstrap.TuneMemory(c, none); got != "204MiB" {
		t.Errorf("TuneMemory with 2 hash slots reports %q, want 204MiB", got)
	}
	if got := debug.SetMemoryLimit(-1); got != c.MemoryLimit() {
		t.Errorf("the limit is %d, want %d", got, c.MemoryLimit())
	}
	debug.SetMemoryLimit(math.MaxInt64)
	set := func(k string) (string, bool) {
		if k == "GOMEMLIMIT" {
			return "1GiB", true
		}
		return "", false
	}
	if got := bootstrap.TuneMemory(c, set); got != "1GiB" || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set TuneMemory reports %q and changed the limit", got)
	}
}
