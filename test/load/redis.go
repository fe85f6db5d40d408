package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// quietLog silences go-redis's own logging: checkRedis says in one line
// what went wrong.
type quietLog struct{}

func (quietLog) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietLog{}) }

// checkRedis fails with a message saying what to do when Redis does not
// answer at addr: the harness starts nothing in that case.
func checkRedis(ctx context.Context, addr string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("no Redis answers at %s, so nothing was started (start it with `go tool task services`, or pass -redis-addr): %w", addr, err)
	}
	return nil
}

// deletePrefix removes every key under prefix, the opaque tokens and
// deny-list entries this run's Sigil processes wrote, and returns how
// many it removed.
func deletePrefix(ctx context.Context, addr, prefix string) (int, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	removed := 0
	// Large steps: a run leaves more than a million keys.
	iter := rdb.Scan(ctx, 0, prefix+"*", 10_000).Iterator()
	batch := make([]string, 0, 10_000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := rdb.Unlink(ctx, batch...).Result()
		removed += int(n)
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return removed, fmt.Errorf("clean up redis: %w", err)
			}
		}
	}
	if err := iter.Err(); err != nil {
		return removed, fmt.Errorf("clean up redis: %w", err)
	}
	if err := flush(); err != nil {
		return removed, fmt.Errorf("clean up redis: %w", err)
	}
	return removed, nil
}
