package bootstrap

import (
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"

	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/application"
)

// limiterTableSize bounds the keys the in-process rate limiter holds:
// some 100 bytes each, so about 10 MB at most.
const limiterTableSize = 100_000

// limiterModule provides the rate limiter the failure throttle and the
// request limits count with: in Redis when it is configured, so every
// node shares the counts, and in process otherwise. While Redis fails,
// each node counts on its own (see application.FallbackLimiter).
//
// It also provides where the addresses clients authenticated from are
// kept beyond the process: in Redis, or nowhere (nil) without it.
func limiterModule(c Config) fx.Option {
	if c.RedisAddr == "" {
		return fx.Provide(fx.Private,
			func(clock application.Clock) application.RateLimiter {
				return application.NewLocalRateLimiter(clock, limiterTableSize)
			},
			func() application.KnownAddresses { return nil },
		)
	}
	return fx.Provide(fx.Private,
		func(r redis.UniversalClient, c Config, clock application.Clock, log *slog.Logger) application.RateLimiter {
			return application.NewFallbackLimiter(
				redisstore.NewRateLimiter(r, c.RedisPrefix),
				application.NewLocalRateLimiter(clock, limiterTableSize),
				clock, everyMinute(log, "rate limits counted in process: redis fails"),
			)
		},
		func(r redis.UniversalClient, c Config) application.KnownAddresses {
			return redisstore.NewKnownAddresses(r, c.RedisPrefix)
		},
	)
}

// everyMinute logs a warning for the first error and then at most once a
// minute, with how many errors there were in between, so an outage gives
// a few lines rather than one per request.
func everyMinute(log *slog.Logger, msg string) func(error) {
	var (
		mu     sync.Mutex
		last   time.Time
		missed int
	)
	return func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); now.Sub(last) >= time.Minute {
			log.Warn(msg, "err", err, "errors_since_last_report", missed)
			last, missed = now, 0
			return
		}
		missed++
	}
}

// hashSlots is the number of slow hashes allowed at once: as configured,
// or half the processors Go runs on (GOMAXPROCS, which follows a
// container's CPU quota), at least one. Not one per processor: argon2id
// holds a processor for the whole run, so with as many hashes as
// processors a flood of guesses from many addresses would leave the
// scheduler nothing to serve cached clients with but the gaps of its
// preemption. Measured with wrk on two cores under such a flood, one
// slot kept the cached client's rate, two cut it by about a tenth, and
// in process (where the test's own clients compete too) by far more.
func (c Config) hashSlots() int {
	if c.HashConcurrency > 0 {
		return c.HashConcurrency
	}
	return max(1, runtime.GOMAXPROCS(0)/2)
}

// defences builds the brute-force defences of client authentication from
// the settings.
func defences(c Config, limiter application.RateLimiter, known application.KnownAddresses, clock application.Clock) application.Defences {
	slots := c.hashSlots()
	throttle := application.NewFailureThrottle(limiter, clock, c.AuthFailureLimit, c.AuthFailureWindow)
	if known != nil {
		throttle.ShareKnownAddresses(known)
	}
	return application.Defences{
		Slots:    application.NewHashSlots(slots, c.HashQueueWait, c.HashFailurePercent),
		Throttle: throttle,
		Limiter:  limiter,
		Limits:   application.RequestLimits{Token: c.TokenRateLimit, Introspection: c.IntrospectionRateLimit, Revocation: c.RevocationRateLimit},
		Hold:     c.AuthFailureHold,
	}
}

// ParseRateLimit reads a request limit written N/s, N/m or N/h: N
// requests a second, minute or hour, in bursts of up to N. Empty or 0 is
// no limit.
func ParseRateLimit(s string) (application.Limit, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return application.Limit{}, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 0 {
		return application.Limit{}, fmt.Errorf("%q is not a rate such as 100/s, 6000/m or 100000/h", s)
	}
	periods := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}
	period, ok := periods[unit]
	if !ok {
		return application.Limit{}, fmt.Errorf("%q is not a rate such as 100/s, 6000/m or 100000/h", s)
	}
	if count == 0 {
		return application.Limit{}, nil
	}
	return application.Limit{Rate: count, Burst: count, Period: period}, nil
}

// validateLimits adds what is wrong with the limit settings.
func (c Config) validateLimits(add func(format string, a ...any)) {
	if c.HashConcurrency < 0 || c.HashQueueWait < 0 {
		add("hash-concurrency and hash-queue-wait must not be negative")
	}
	if c.HashFailurePercent < 1 || c.HashFailurePercent > 100 {
		add("hash-failure-percent %d is not between 1 and 100", c.HashFailurePercent)
	}
	if c.AuthFailureLimit < 0 || c.AuthFailureWindow < 0 || c.AuthFailureHold < 0 {
		add("auth-failure-limit, auth-failure-window and auth-failure-hold must not be negative")
	}
	if c.AuthFailureLimit > 0 && c.AuthFailureWindow < time.Second {
		add("auth-failure-window %s is under a second", c.AuthFailureWindow)
	}
}
