package application

import (
	"context"
	"math/rand/v2"
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
	// table holds each key's theoretical arrival time as the expiry of
	// its entry: once it has passed, the budget is full and the entry
	// means nothing.
	table *BoundedCache[string, struct{}]
}

var _ RateLimiter = (*LocalRateLimiter)(nil)

// NewLocalRateLimiter holds at most max keys.
func NewLocalRateLimiter(clock Clock, max int) *LocalRateLimiter {
	return &LocalRateLimiter{clock: clock, table: NewBoundedCache[string, struct{}](max)}
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
	l.table.Update(key, now, func(_ struct{}, tat time.Time, ok bool) (struct{}, time.Time, bool) {
		if !ok {
			tat = now
		}
		next := tat.Add(emission)
		// allowed when next - burstOffset is not after now
		if wait := next.Sub(now) - burstOffset; wait > 0 {
			d = Decision{RetryAfter: wait}
			return struct{}{}, tat, false
		}
		d = Decision{Allowed: true, RetryAfter: max(0, next.Add(emission).Sub(now)-burstOffset)}
		return struct{}{}, next, true
	})
	return d, nil
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
