package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/adapters/internal/storekey"
	"github.com/sigilauth/sigil/application"
)

// ReplayGuard remembers the ids of client assertions already used (RFC
// 7523 §3 item 7) under prefix + "replay:" + the hex SHA-256 of the id,
// until the assertion expires. Ids are chosen by clients and may be of any
// length or hold any byte; their hash keeps keys short and free of the
// braces Redis Cluster would read as a hash tag.
type ReplayGuard struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
	// batch, when set, sends the SETs of concurrent callers as one
	// pipeline (see NewPipelinedReplayGuard).
	batch *batcher
}

var _ application.ReplayGuard = (*ReplayGuard)(nil)

// NewReplayGuard returns a guard that keeps its keys under prefix.
func NewReplayGuard(client redis.UniversalClient, prefix string) *ReplayGuard {
	return &ReplayGuard{client: client, prefix: prefix, now: time.Now}
}

// NewPipelinedReplayGuard is NewReplayGuard whose records of concurrent
// callers leave in one pipeline, as the token store's commands do: for a
// guard on the hot path of every request, the DPoP proofs of a resource
// server, where one round trip per request would bound the rate by the
// connection pool rather than by the CPU. Close it when done.
func NewPipelinedReplayGuard(client redis.UniversalClient, prefix string) *ReplayGuard {
	g := NewReplayGuard(client, prefix)
	g.batch = newBatcher(client)
	return g
}

// Close stops the pipeline of a pipelined guard, failing what is still
// queued once ctx is done; a plain guard has nothing to close.
func (g *ReplayGuard) Close(ctx context.Context) error {
	if g.batch == nil {
		return nil
	}
	return g.batch.close(ctx)
}

func (g *ReplayGuard) key(id string) string {
	return g.prefix + "replay:" + storekey.Hash(id)
}

// FirstUse implements application.ReplayGuard with SET NX: Redis runs
// commands one at a time, so of concurrent callers exactly one sets the
// key and sees true. An id whose until has already passed is not
// recorded; it counts as unseen unless a live record of it exists.
func (g *ReplayGuard) FirstUse(ctx context.Context, id string, until time.Time) (bool, error) {
	key := g.key(id)
	ttl := ttlUntil(g.now(), until)
	if ttl <= 0 {
		n, err := g.client.Exists(ctx, key).Result()
		if err != nil {
			return false, fmt.Errorf("check assertion id: %w", err)
		}
		return n == 0, nil
	}
	if g.batch != nil {
		// SET NX answers OK or nil, which BoolCmd reads as true or false.
		cmd := redis.NewBoolCmd(ctx, "set", key, 1, "px", max(1, ttl.Milliseconds()), "nx")
		if err := g.batch.do(ctx, cmd); err != nil {
			return false, fmt.Errorf("record assertion id: %w", err)
		}
		return cmd.Val(), nil
	}
	set, err := g.client.SetNX(ctx, key, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("record assertion id: %w", err)
	}
	return set, nil
}
