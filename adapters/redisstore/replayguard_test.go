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

// The ReplayGuard contract is in test/contract; these tests, and the deny
// list's beside them, look at the keys and their TTLs, which the contracts
// cannot see without waiting for them to run out.

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
