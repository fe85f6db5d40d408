package contract

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/test/fakes"
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

// DenyList checks an application.DenyList. newList returns an empty list
// that judges expiry by clock.
func DenyList(t *testing.T, newList func(t *testing.T, clock *fakes.Clock) application.DenyList) {
	setup := func(t *testing.T) (application.DenyList, *fakes.Clock, time.Time) {
		now := time.Now()
		clock := fakes.NewClock(now)
		return newList(t, clock), clock, now
	}
	deny := func(t *testing.T, list application.DenyList, jti string, until time.Time) {
		t.Helper()
		if err := list.Deny(t.Context(), jti, until); err != nil {
			t.Fatalf("Deny(%s): %v", jti, err)
		}
	}
	denied := func(t *testing.T, list application.DenyList, jti string) bool {
		t.Helper()
		d, err := list.IsDenied(t.Context(), jti)
		if err != nil {
			t.Fatalf("IsDenied(%s): %v", jti, err)
		}
		return d
	}

	t.Run("a denied jti is denied and no other", func(t *testing.T) {
		list, _, now := setup(t)
		const jti = "8c5e5b4e-7d3a-4a43-9a43-0f4d1a2b3c4d"
		deny(t, list, jti, now.Add(time.Hour))

		if !denied(t, list, jti) {
			t.Errorf("IsDenied(%s) = false after Deny", jti)
		}
		for _, other := range []string{"8c5e5b4e-7d3a-4a43-9a43-0f4d1a2b3c4", jti + "0", strings.ToUpper(jti), ""} {
			if denied(t, list, other) {
				t.Errorf("IsDenied(%q) = true, but only %s was denied", other, jti)
			}
		}
	})

	t.Run("an expiry already past denies nothing", func(t *testing.T) {
		list, _, now := setup(t)
		deny(t, list, "dead", now.Add(-time.Second))
		if denied(t, list, "dead") {
			t.Error("IsDenied = true for a jti denied until a time already past")
		}
	})

	t.Run("a denial ends when the token expires", func(t *testing.T) {
		list, clock, now := setup(t)
		deny(t, list, "short", now.Add(shortLife))
		deny(t, list, "long", now.Add(time.Hour))

		clock.Advance(time.Second)
		if !eventually(t, func() bool { return !denied(t, list, "short") }) {
			t.Errorf("IsDenied still true %v after the expiry", waitLimit)
		}
		if !denied(t, list, "long") {
			t.Error("IsDenied = false for a jti denied for an hour")
		}
	})

	t.Run("denying again never shortens a denial", func(t *testing.T) {
		list, clock, now := setup(t)
		deny(t, list, "jti", now.Add(time.Hour))
		deny(t, list, "jti", now.Add(shortLife))
		deny(t, list, "jti", now.Add(-time.Second))

		clock.Advance(time.Second)
		if !denied(t, list, "jti") {
			t.Error("IsDenied = false: a later, shorter Deny cut the first one short")
		}
	})

	t.Run("denying again with a later expiry extends the denial", func(t *testing.T) {
		list, clock, now := setup(t)
		deny(t, list, "jti", now.Add(shortLife))
		deny(t, list, "jti", now.Add(time.Hour))

		clock.Advance(time.Second)
		if !denied(t, list, "jti") {
			t.Error("IsDenied = false: the later, longer Deny did not extend the first")
		}
	})
}

// ReplayGuard checks an application.ReplayGuard. newGuard returns an empty
// guard that judges expiry by clock.
func ReplayGuard(t *testing.T, newGuard func(t *testing.T, clock *fakes.Clock) application.ReplayGuard) {
	setup := func(t *testing.T) (application.ReplayGuard, *fakes.Clock, time.Time) {
		now := time.Now()
		clock := fakes.NewClock(now)
		return newGuard(t, clock), clock, now
	}
	firstUse := func(t *testing.T, g application.ReplayGuard, id string, until time.Time) bool {
		t.Helper()
		first, err := g.FirstUse(t.Context(), id, until)
		if err != nil {
			t.Fatalf("FirstUse(%.40q): %v", id, err)
		}
		return first
	}

	t.Run("an id is accepted once", func(t *testing.T) {
		g, _, now := setup(t)
		const id = "service-client-jwt 0b4f1c52-3b8e-4f5e-9d0c-6c1e2f3a4b5c"
		if !firstUse(t, g, id, now.Add(time.Hour)) {
			t.Fatal("FirstUse of a new id = false")
		}
		for _, until := range []time.Time{now.Add(time.Hour), now.Add(2 * time.Hour), now.Add(time.Minute)} {
			if firstUse(t, g, id, until) {
				t.Errorf("FirstUse of a used id until %v = true", until.Sub(now))
			}
		}
	})

	t.Run("distinct ids are independent", func(t *testing.T) {
		g, _, now := setup(t)
		until := now.Add(time.Hour)
		long := strings.Repeat("a-very-long-jti-", 1024) // 16 KiB: more than a database index takes
		ids := []string{"client-a jti-1", "client-a jti-2", "client-b jti-1", "client-a jti-1 ", long, long + "x", "{tag} jti"}
		for _, id := range ids {
			if !firstUse(t, g, id, until) {
				t.Errorf("FirstUse(%.40q) = false on first use", id)
			}
		}
		for _, id := range ids {
			if firstUse(t, g, id, until) {
				t.Errorf("FirstUse(%.40q) = true on second use", id)
			}
		}
	})

	t.Run("an id recorded until a time already past is accepted again", func(t *testing.T) {
		g, _, now := setup(t)
		for i := range 2 {
			if !firstUse(t, g, "stale", now.Add(-time.Second)) {
				t.Errorf("FirstUse #%d with until in the past = false", i+1)
			}
		}
		if !firstUse(t, g, "stale", now.Add(time.Hour)) {
			t.Error("FirstUse with a future until, after uses until the past = false")
		}
		if firstUse(t, g, "stale", now.Add(time.Hour)) {
			t.Error("FirstUse after a use recorded for an hour = true")
		}
	})

	t.Run("a use until the past does not clear a live record", func(t *testing.T) {
		g, _, now := setup(t)
		if !firstUse(t, g, "live", now.Add(time.Hour)) {
			t.Fatal("FirstUse of a new id = false")
		}
		if firstUse(t, g, "live", now.Add(-time.Second)) {
			t.Error("FirstUse with until in the past = true for an id recorded for an hour")
		}
		if firstUse(t, g, "live", now.Add(time.Hour)) {
			t.Error("FirstUse = true: the use until the past cleared the record")
		}
	})

	t.Run("an id is accepted again once its record expires", func(t *testing.T) {
		g, clock, now := setup(t)
		if !firstUse(t, g, "short", now.Add(shortLife)) {
			t.Fatal("FirstUse of a new id = false")
		}
		if !firstUse(t, g, "long", now.Add(time.Hour)) {
			t.Fatal("FirstUse of a new id = false")
		}

		clock.Advance(time.Second)
		later := now.Add(time.Hour)
		if !eventually(t, func() bool { return firstUse(t, g, "short", later) }) {
			t.Fatalf("FirstUse still false %v after the record expired", waitLimit)
		}
		if firstUse(t, g, "short", later) {
			t.Error("FirstUse = true right after the id was accepted again")
		}
		if firstUse(t, g, "long", later) {
			t.Error("FirstUse = true for an id recorded for an hour")
		}
	})

	t.Run("of concurrent first uses exactly one sees true", func(t *testing.T) {
		g, _, now := setup(t)
		const callers = 20
		until := now.Add(time.Hour)
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			mu     sync.Mutex
			firsts int
			errs   []error
		)
		for range callers {
			wg.Go(func() {
				<-start
				first, err := g.FirstUse(t.Context(), "raced", until)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if first {
					firsts++
				}
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			t.Errorf("FirstUse: %v", err)
		}
		if firsts != 1 {
			t.Errorf("%d of %d concurrent FirstUse calls saw true, want exactly 1", firsts, callers)
		}
	})
}
