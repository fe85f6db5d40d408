package contract

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
)

// RateLimiter checks an application.RateLimiter. newLimiters returns two
// limiters over the same fresh storage, as two nodes would hold them (two
// Redis clients; the same value for the in-process limiter). Limiters
// count real time (Redis's clock), so the one test that needs a budget to
// refill uses a refill of a tenth of a second and waits for it.
func RateLimiter(t *testing.T, newLimiters func(t *testing.T) (application.RateLimiter, application.RateLimiter)) {
	allow := func(t *testing.T, l application.RateLimiter, key string, limit application.Limit) application.Decision {
		t.Helper()
		d, err := l.Allow(t.Context(), key, limit)
		if err != nil {
			t.Fatalf("Allow(%s): %v", key, err)
		}
		return d
	}
	// Five at once, then one every two seconds.
	slow := application.Limit{Rate: 5, Burst: 5, Period: 10 * time.Second}

	t.Run("the burst is allowed, the next refused with the time to wait", func(t *testing.T) {
		l, _ := newLimiters(t)
		for i := range slow.Burst {
			d := allow(t, l, "k", slow)
			if !d.Allowed {
				t.Fatalf("event %d of a burst of %d refused", i+1, slow.Burst)
			}
			// Only the last of the burst says the next must wait.
			if last := i == slow.Burst-1; last != (d.RetryAfter > 0) {
				t.Errorf("event %d of %d allowed with retry-after %s", i+1, slow.Burst, d.RetryAfter)
			} else if last && (d.RetryAfter <= time.Second || d.RetryAfter > 2*time.Second) {
				t.Errorf("the last event of the burst says wait %s, want just under 2s", d.RetryAfter)
			}
		}
		d := allow(t, l, "k", slow)
		if d.Allowed {
			t.Fatalf("event %d allowed past a burst of %d", slow.Burst+1, slow.Burst)
		}
		// One event refills in Period/Rate = 2s, a little less by now.
		if d.RetryAfter <= time.Second || d.RetryAfter > 2*time.Second {
			t.Errorf("retry-after = %s, want just under 2s", d.RetryAfter)
		}
	})

	t.Run("keys are counted apart, and shared between nodes", func(t *testing.T) {
		a, b := newLimiters(t)
		for range slow.Burst {
			allow(t, a, "one", slow)
		}
		if d := allow(t, b, "one", slow); d.Allowed {
			t.Error("the other node allowed a key whose budget the first used up")
		}
		if d := allow(t, b, "two", slow); !d.Allowed {
			t.Error("another key was refused for the first key's events")
		}
		if d := allow(t, a, "one-", slow); !d.Allowed {
			t.Error("a key that merely starts like a used-up one was refused")
		}
	})

	t.Run("a refused event takes nothing and the budget refills", func(t *testing.T) {
		l, _ := newLimiters(t)
		// Two at once, then one every 100ms.
		fast := application.Limit{Rate: 10, Burst: 2, Period: time.Second}
		allow(t, l, "k", fast)
		allow(t, l, "k", fast)
		var d application.Decision
		for range 20 {
			if d = allow(t, l, "k", fast); d.Allowed {
				t.Fatal("an event past the burst was allowed")
			}
		}
		if d.RetryAfter > 100*time.Millisecond {
			t.Fatalf("retry-after %s after refused events, want at most 100ms: refusals must not count", d.RetryAfter)
		}
		time.Sleep(d.RetryAfter + 20*time.Millisecond)
		if d := allow(t, l, "k", fast); !d.Allowed {
			t.Fatalf("refused once the retry-after had passed: %+v", d)
		}
		if d := allow(t, l, "k", fast); d.Allowed {
			t.Error("two events allowed where the budget refilled one")
		}
	})

	t.Run("concurrent events never pass the burst", func(t *testing.T) {
		a, b := newLimiters(t)
		limit := application.Limit{Rate: 10, Burst: 10, Period: time.Hour}
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for i := range 40 {
			l := a
			if i%2 == 1 {
				l = b
			}
			wg.Go(func() {
				if d, err := l.Allow(t.Context(), "k", limit); err != nil {
					t.Errorf("Allow: %v", err)
				} else if d.Allowed {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := allowed.Load(); n != int32(limit.Burst) {
			t.Errorf("40 concurrent events: %d allowed, want exactly the burst of %d", n, limit.Burst)
		}
	})

	t.Run("a zero limit limits nothing", func(t *testing.T) {
		l, _ := newLimiters(t)
		for range 3 {
			if d := allow(t, l, "k", application.Limit{}); !d.Allowed {
				t.Fatal("a zero limit refused an event")
			}
		}
	})
}
