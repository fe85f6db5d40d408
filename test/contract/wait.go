package contract

import (
	"testing"
	"time"
)

// The deny list and the replay guard both remember ids until a time. Their
// suites are held to the same rule as TokenStore: the clock handed to the
// factory starts at the wall-clock time, so a store that counts real time,
// as Redis does, agrees with one that reads the clock. Where a test needs
// time to pass it advances the clock a second past a record that lives a
// tenth of a second, and then waits, for at most waitLimit, until the
// store lets the record go: a clock-driven store at once, Redis as soon as
// the key has expired. No test sleeps for a fixed time.

// shortLife is how long a record lives in the tests that see it expire.
const shortLife = 100 * time.Millisecond

// waitLimit bounds the wait for a record to expire in real time; only a
// store that never forgets reaches it.
const waitLimit = 5 * time.Second

// eventually polls cond until it holds or waitLimit has passed, and
// reports whether it held.
func eventually(t *testing.T, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
