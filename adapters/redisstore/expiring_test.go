package redisstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/test/testenv"
)

// The DenyList and ReplayGuard contracts are in test/contract; these tests
// look at the keys and their TTLs, which the contracts cannot see without
// waiting for them to run out.

// pttl reads the TTL of key, failing the test if the key has none.
func pttl(t *testing.T, client redis.UniversalClient, key string) time.Duration {
	t.Helper()
	ttl, err := client.PTTL(t.Context(), key).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	if ttl < 0 {
		t.Fatalf("PTTL %s = %v: the key is missing or never expires", key, ttl)
	}
	return ttl
}

// about reports whether ttl is want, less at most a minute a slow machine
// may take between computing the expiry and reading the TTL.
func about(ttl, want time.Duration) bool { return ttl <= want && ttl > want-time.Minute }

func TestDenyKeyLivesUntilTheTokenExpires(t *testing.T) {
	client, prefix := testenv.Redis(t)
	list := redisstore.NewDenyList(client, prefix)
	const jti = "0b4f1c52-3b8e-4f5e-9d0c-6c1e2f3a4b5c"
	if err := list.Deny(t.Context(), jti, time.Now().Add(90*time.Minute)); err != nil {
		t.Fatalf("Deny: %v", err)
	}
	key := prefix + "deny:" + jti
	if keys := keysUnder(t, client, prefix); len(keys) != 1 || keys[0] != key {
		t.Fatalf("keys = %v, want just %s", keys, key)
	}
	if ttl := pttl(t, client, key); !about(ttl, 90*time.Minute) {
		t.Errorf("TTL = %v, want about 90m", ttl)
	}

	t.Run("a shorter denial leaves it", func(t *testing.T) {
		for _, until := range []time.Time{time.Now().Add(time.Minute), time.Now().Add(-time.Minute)} {
			if err := list.Deny(t.Context(), jti, until); err != nil {
				t.Fatalf("Deny: %v", err)
			}
		}
		if ttl := pttl(t, client, key); !about(ttl, 90*time.Minute) {
			t.Errorf("TTL after shorter denials = %v, want still about 90m", ttl)
		}
	})

	t.Run("a longer denial extends it", func(t *testing.T) {
		if err := list.Deny(t.Context(), jti, time.Now().Add(3*time.Hour)); err != nil {
			t.Fatalf("Deny: %v", err)
		}
		if ttl := pttl(t, client, key); !about(ttl, 3*time.Hour) {
			t.Errorf("TTL after a longer denial = %v, want about 3h", ttl)
		}
	})
}

func TestDenyUntilThePastWritesNothing(t *testing.T) {
	client, prefix := testenv.Redis(t)
	if err := redisstore.NewDenyList(client, prefix).Deny(t.Context(), "jti", time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("Deny: %v", err)
	}
	if keys := keysUnder(t, client, prefix); len(keys) != 0 {
		t.Errorf("keys = %v, want none", keys)
	}
}

func TestReplayKeyIsTheHashOfTheIDAndLivesUntilUntil(t *testing.T) {
	client, prefix := testenv.Redis(t)
	guard := redisstore.NewReplayGuard(client, prefix)
	// Long, and with braces Redis Cluster would take for a hash tag.
	id := "service-client-jwt {" + strings.Repeat("jti", 4000) + "}"
	if first, err := guard.FirstUse(t.Context(), id, time.Now().Add(5*time.Minute)); err != nil || !first {
		t.Fatalf("FirstUse = %v, %v; want true", first, err)
	}
	sum := sha256.Sum256([]byte(id))
	key := prefix + "replay:" + hex.EncodeToString(sum[:])
	if keys := keysUnder(t, client, prefix); len(keys) != 1 || keys[0] != key {
		t.Fatalf("keys = %v, want just %s", keys, key)
	}
	if ttl := pttl(t, client, key); !about(ttl, 5*time.Minute) {
		t.Errorf("TTL = %v, want about 5m", ttl)
	}

	// A replay leaves the first record as it was.
	if first, err := guard.FirstUse(t.Context(), id, time.Now().Add(time.Hour)); err != nil || first {
		t.Fatalf("second FirstUse = %v, %v; want false", first, err)
	}
	if ttl := pttl(t, client, key); !about(ttl, 5*time.Minute) {
		t.Errorf("TTL after a replay = %v, want still about 5m", ttl)
	}
}

func TestReplayUntilThePastWritesNothing(t *testing.T) {
	client, prefix := testenv.Redis(t)
	if _, err := redisstore.NewReplayGuard(client, prefix).FirstUse(t.Context(), "id", time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("FirstUse: %v", err)
	}
	if keys := keysUnder(t, client, prefix); len(keys) != 0 {
		t.Errorf("keys = %v, want none", keys)
	}
}

func TestUnreachableRedisFailsDenyAndReplayChecks(t *testing.T) {
	// A Redis that is down must neither let a revoked token through as not
	// denied nor pass a replayed assertion as first used.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer client.Close()
	list := redisstore.NewDenyList(client, "x:")
	if denied, err := list.IsDenied(t.Context(), "jti"); err == nil {
		t.Errorf("IsDenied = %v with no error", denied)
	}
	if err := list.Deny(t.Context(), "jti", time.Now().Add(time.Hour)); err == nil {
		t.Error("Deny succeeded")
	}
	guard := redisstore.NewReplayGuard(client, "x:")
	for _, until := range []time.Time{time.Now().Add(time.Hour), time.Now().Add(-time.Hour)} {
		if first, err := guard.FirstUse(t.Context(), "id", until); err == nil {
			t.Errorf("FirstUse until %v = %v with no error", time.Until(until).Round(time.Minute), first)
		}
	}
	if err := redisstore.NewTokens(client, "x:").DeleteToken(t.Context(), "value"); err == nil {
		t.Error("DeleteToken succeeded")
	}
}
