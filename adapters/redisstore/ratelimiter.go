package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/application"
)

// RateLimiter counts rate-limited events in Redis with go-redis/redis_rate,
// the generic cell rate algorithm as one Lua script: the decision and the
// count are one atomic step, on Redis's clock, so every node sharing the
// Redis shares each budget. A key's whole state is one number that
// expires once the budget is full again.
//
// redis_rate puts its own "rate:" before every key, so the keys are
// "rate:" + prefix + "limit:" + key; they expire by themselves.
type RateLimiter struct {
	limiter *redis_rate.Limiter
	prefix  string
}

var _ application.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter returns a limiter that keeps its keys under prefix (after
// redis_rate's "rate:").
func NewRateLimiter(client redis.UniversalClient, prefix string) *RateLimiter {
	return &RateLimiter{limiter: redis_rate.NewLimiter(client), prefix: prefix + "limit:"}
}

// Allow implements application.RateLimiter.
func (r *RateLimiter) Allow(ctx context.Context, key string, limit application.Limit) (application.Decision, error) {
	if !limit.On() {
		return application.Decision{Allowed: true}, nil
	}
	res, err := r.limiter.Allow(ctx, r.prefix+key, redis_rate.Limit{Rate: limit.Rate, Burst: limit.Burst, Period: limit.Period})
	if err != nil {
		return application.Decision{}, fmt.Errorf("rate limit: %w", err)
	}
	if res.Allowed > 0 {
		// The next event is allowed once the budget has room for one
		// more: when it is full again (ResetAfter) less the other
		// Burst-1 events' refill.
		next := res.ResetAfter - time.Duration(limit.Burst-1)*(limit.Period/time.Duration(limit.Rate))
		return application.Decision{Allowed: true, RetryAfter: max(0, next)}, nil
	}
	return application.Decision{RetryAfter: res.RetryAfter}, nil
}
