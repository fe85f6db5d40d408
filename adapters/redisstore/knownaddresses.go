package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/application"
)

// KnownAddresses keeps the (client id, address) pairs that authenticated
// successfully, for the failure throttle, under prefix + "known:" + key,
// each expiring with its ttl. Keys are hashes made by the throttle: short
// and free of the braces Redis Cluster would read as a hash tag.
type KnownAddresses struct {
	client redis.UniversalClient
	prefix string
}

var _ application.KnownAddresses = (*KnownAddresses)(nil)

// NewKnownAddresses keeps its keys under prefix.
func NewKnownAddresses(client redis.UniversalClient, prefix string) *KnownAddresses {
	return &KnownAddresses{client: client, prefix: prefix + "known:"}
}

// Remember implements application.KnownAddresses.
func (k *KnownAddresses) Remember(ctx context.Context, key string, ttl time.Duration) error {
	if err := k.client.Set(ctx, k.prefix+key, "1", ttl).Err(); err != nil {
		return fmt.Errorf("remember known address: %w", err)
	}
	return nil
}

// Known implements application.KnownAddresses.
func (k *KnownAddresses) Known(ctx context.Context, key string) (bool, error) {
	n, err := k.client.Exists(ctx, k.prefix+key).Result()
	if err != nil {
		return false, fmt.Errorf("known address: %w", err)
	}
	return n == 1, nil
}
