package application

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Limit is a rate limit in the terms of the generic cell rate algorithm
// (GCRA): Burst events may happen at once, and the budget refills at Rate
// events per Period.
type Limit struct {
	Rate   int
	Burst  int
	Period time.Duration
}

// On reports whether the limit limits anything.
func (l Limit) On() bool { return l.Rate > 0 && l.Burst > 0 && l.Period > 0 }

// emission is the time one event's share of the budget takes to refill.
func (l Limit) emission() time.Duration { return l.Period / time.Duration(l.Rate) }

// Decision is a rate limiter's answer for one event.
type Decision struct {
	Allowed bool
	// RetryAfter is how long until another event would be allowed: for a
	// refused event, until it would have been; for an allowed one, zero
	// unless it used up the budget.
	RetryAfter time.Duration
}

// LocalRateLimiter is a GCRA rate limiter in process memory. It computes
// exactly what the Redis adapter's script (go-redis/redis_rate) computes,
// so the two pass the same contract suite and a node that falls back to it
// judges as the cluster would have; its whole state per key is the one
// instant the key's budget is full again (the "theoretical arrival
// time"), less than a token bucket of x/time/rate keeps. At most max keys
// are held: a key whose budget is full again is the same as no key, so
// those go first, and only when none is found among a few sampled does
// the key closest to full go.
type LocalRateLimiter struct {
	clock Clock
	table *sampledTable
}

var _ RateLimiter = (*LocalRateLimiter)(nil)

// NewLocalRateLimiter holds at most max keys.
func NewLocalRateLimiter(clock Clock, max int) *LocalRateLimiter {
	return &LocalRateLimiter{clock: clock, table: newSampledTable(max)}
}

// Allow implements RateLimiter; it never fails.
func (l *LocalRateLimiter) Allow(_ context.Context, key string, limit Limit) (Decision, error) {
	if !limit.On() {
		return Decision{Allowed: true}, nil
	}
	now := l.clock.Now()
	emission := limit.emission()
	burstOffset := emission * time.Duration(limit.Burst)
	var d Decision
	l.table.update(key, now, func(tat time.Time, ok bool) (time.Time, bool) {
		if !ok || tat.Before(now) {
			tat = now
		}
		next := tat.Add(emission)
		// allowed when next - burstOffset is not after now
		if wait := next.Sub(now) - burstOffset; wait > 0 {
			d = Decision{RetryAfter: wait}
			return tat, ok
		}
		d = Decision{Allowed: true, RetryAfter: max(0, next.Add(emission).Sub(now)-burstOffset)}
		return next, true
	})
	return d, nil
}

// sampledTable maps keys to an instant after which the entry means
// nothing (a full budget, a refusal that ran out) and holds at most max
// of them. Eviction samples a few entries instead of scanning them all,
// so a flood of new keys costs each the same small time.
type sampledTable struct {
	max     int
	mu      sync.Mutex
	entries map[string]time.Time
}

func newSampledTable(max int) *sampledTable {
	return &sampledTable{max: max, entries: map[string]time.Time{}}
}

// evictionSample is how many entries are looked at to choose one to drop.
const evictionSample = 8

// update calls fn with key's entry (ok false when there is none) and
// stores what it returns when keep is true.
func (t *sampledTable) update(key string, now time.Time, fn func(until time.Time, ok bool) (time.Time, bool)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur, ok := t.entries[key]
	next, keep := fn(cur, ok)
	if !keep {
		return
	}
	if !ok && len(t.entries) >= t.max {
		t.evict(now)
	}
	t.entries[key] = next
}

// get returns key's instant, if it has one after now.
func (t *sampledTable) get(key string, now time.Time) (time.Time, bool) {
	t.mu.Lock()
	until, ok := t.entries[key]
	t.mu.Unlock()
	return until, ok && until.After(now)
}

// put stores until for key.
func (t *sampledTable) put(key string, until, now time.Time) {
	t.update(key, now, func(time.Time, bool) (time.Time, bool) { return until, true })
}

// evict drops the entries among a sample that mean nothing any more, or
// else the one of the sample that runs out first. Go starts each range
// over a map at a random place, so the sample is a random one.
func (t *sampledTable) evict(now time.Time) {
	var oldest string
	var oldestUntil time.Time
	n, dropped := 0, false
	for k, until := range t.entries {
		if !until.After(now) {
			delete(t.entries, k)
			dropped = true
		} else if oldest == "" || until.Before(oldestUntil) {
			oldest, oldestUntil = k, until
		}
		if n++; n >= evictionSample {
			break
		}
	}
	if !dropped && oldest != "" {
		delete(t.entries, oldest)
	}
}

// FallbackLimiter asks a shared limiter (Redis) and, when it fails, a
// local one, so that an outage of the shared store neither refuses every
// request nor lets brute force go unchecked: while the store is down each
// node counts on its own. After a failure the shared limiter is left
// alone for a second, so an outage does not add a timeout to each check.
type FallbackLimiter struct {
	primary, fallback RateLimiter
	clock             Clock
	onError           func(error)
	// downUntil is when to try the shared limiter again, in Unix
	// nanoseconds; zero while it works.
	downUntil atomic.Int64
}

var _ RateLimiter = (*FallbackLimiter)(nil)

// primaryRetry is how long the shared limiter is skipped after it failed.
const primaryRetry = time.Second

// NewFallbackLimiter asks primary, and fallback while primary fails;
// onError, if not nil, is told of each failure of primary.
func NewFallbackLimiter(primary, fallback RateLimiter, clock Clock, onError func(error)) *FallbackLimiter {
	return &FallbackLimiter{primary: primary, fallback: fallback, clock: clock, onError: onError}
}

// Allow implements RateLimiter.
func (f *FallbackLimiter) Allow(ctx context.Context, key string, limit Limit) (Decision, error) {
	now := f.clock.Now()
	if until := f.downUntil.Load(); until == 0 || now.UnixNano() >= until {
		d, err := f.primary.Allow(ctx, key, limit)
		if err == nil {
			f.downUntil.Store(0)
			return d, nil
		}
		if ctx.Err() != nil {
			return Decision{}, ctx.Err()
		}
		// Spread the retries of many nodes a little.
		f.downUntil.Store(now.Add(primaryRetry + rand.N(primaryRetry/4)).UnixNano())
		if f.onError != nil {
			f.onError(err)
		}
	}
	return f.fallback.Allow(ctx, key, limit)
}
