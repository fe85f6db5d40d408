package bootstrap

import (
	"runtime/debug"
	"strconv"
)

// DefaultGCPercent is the garbage collector's target (GOGC) `sigil serve`
// runs with when the environment sets none. Sigil's live heap is a few
// megabytes while its hot paths allocate for every request, so at Go's
// default of 100 the collector ran about forty times a second under
// token load (measured with ES256 tokens on two cores); at 400 it runs a
// quarter as often for about 12 MB more memory, and the token endpoint
// served about 30% more requests. See README, "Performance".
const DefaultGCPercent = 400

// TuneGC applies DefaultGCPercent unless the operator chose a target with
// GOGC, which the Go runtime has then applied already, and returns the
// target in effect. GOMEMLIMIT is left to the runtime as usual. An empty
// GOGC counts as unset, as the runtime then uses its default too.
func TuneGC(lookup func(string) (string, bool)) string {
	if v, _ := lookup("GOGC"); v != "" {
		return v
	}
	debug.SetGCPercent(DefaultGCPercent)
	return strconv.Itoa(DefaultGCPercent)
}

// argon2Memory is what one argon2id verification allocates with the
// default parameters (secrethash.DefaultParams).
const argon2Memory = 19 << 20

// MemoryLimit is the soft memory limit `sigil serve` sets when GOMEMLIMIT
// is unset: 128 MiB for everything else, and twice a hash's memory per
// hash slot (166 MiB with one slot). Each hash allocates its 19 MiB anew, and with GOGC=400 the
// heap may grow to five times what was live at the last collection: with
// two hashes running at that moment, some 240 MiB before the collector
// runs again. The limit makes it run sooner, which costs nothing at the
// usual few megabytes of live heap.
func (c Config) MemoryLimit() int64 {
	return 128<<20 + int64(c.hashSlots())*2*argon2Memory
}

// TuneMemory applies MemoryLimit unless the operator set GOMEMLIMIT, and
// returns the limit in effect, for the log. An empty GOMEMLIMIT counts
// as unset, as it does for the runtime.
func TuneMemory(c Config, lookup func(string) (string, bool)) string {
	if v, _ := lookup("GOMEMLIMIT"); v != "" {
		return v
	}
	l := c.MemoryLimit()
	debug.SetMemoryLimit(l)
	return strconv.FormatInt(l>>20, 10) + "MiB"
}
