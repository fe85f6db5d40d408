package contract

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/test/fakes"
)

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
