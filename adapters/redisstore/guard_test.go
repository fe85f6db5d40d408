package redisstore_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func guarded(t *testing.T, addr string, timeout time.Duration, logs *bytes.Buffer) (*redis.Client, *redisstore.Health) {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ContextTimeoutEnabled: true, DialerRetries: 1,
		DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout, PoolTimeout: timeout})
	var log *slog.Logger
	if logs != nil {
		log = slog.New(slog.NewTextHandler(logs, nil))
	}
	h := redisstore.Guard(client, redisstore.GuardOptions{Timeout: timeout, ProbeInterval: 20 * time.Millisecond, Logger: log})
	t.Cleanup(func() {
		h.Close()
		_ = client.Close()
	})
	return client, h
}

func TestRefusedConnectionIsUnavailableAndThenFailsFast(t *testing.T) {
	var logs bytes.Buffer
	client, health := guarded(t, closedPort(t), time.Second, &logs)
	tokens := redisstore.NewTokens(client, "x:")

	_, err := tokens.FindToken(t.Context(), "value")
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Fatalf("FindToken error = %v, want temporarily unavailable", err)
	}
	if health.Up() {
		t.Fatal("Redis still counted as up after a refused connection")
	}
	// Known down: the next calls, of every store, fail without the network.
	start := time.Now()
	for range 100 {
		if err := tokens.SaveToken(t.Context(), opaqueToken(time.Minute)); !errors.Is(err, domain.ErrTemporarilyUnavailable) {
			t.Fatalf("SaveToken error = %v", err)
		}
		if _, err := redisstore.NewDenyList(client, "x:").IsDenied(t.Context(), "jti"); !errors.Is(err, domain.ErrTemporarilyUnavailable) {
			t.Fatalf("IsDenied error = %v", err)
		}
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("200 calls to a Redis known to be down took %v", d)
	}
	if err := health.Check(t.Context()); !errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Errorf("readiness check = %v", err)
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("want one warning for the outage, got:\n%s", logs.String())
	}
}

func TestFrozenRedisIsUnavailableWithinTheTimeoutAndRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("freezes a Redis of its own")
	}
	srv := testenv.StartRedis(t, testenv.OwnRedisOptions{})
	const timeout = 300 * time.Millisecond
	client, health := guarded(t, srv.Addr(), timeout, nil)
	tokens := redisstore.NewTokens(client, "x:")
	tok := opaqueToken(time.Minute)
	if err := tokens.SaveToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}

	srv.Freeze()
	start := time.Now()
	_, err := tokens.FindToken(t.Context(), tok.Value)
	took := time.Since(start)
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Fatalf("FindToken on a frozen Redis: %v", err)
	}
	if took > timeout+500*time.Millisecond {
		t.Errorf("FindToken on a frozen Redis took %v, timeout %v", took, timeout)
	}
	t.Logf("frozen Redis: unavailable after %v", took)

	srv.Thaw()
	back := time.Now()
	for !health.Up() {
		if time.Since(back) > 2*time.Second {
			t.Fatal("Redis not back 2 s after it was thawed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("thawed Redis: back after %v", time.Since(back))
	if got, err := tokens.FindToken(t.Context(), tok.Value); err != nil || got.ID != tok.ID {
		t.Fatalf("FindToken after the thaw = %+v, %v", got, err)
	}
}

func TestReadOnlyReplicaIsUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("turns a Redis of its own into a replica")
	}
	srv := testenv.StartRedis(t, testenv.OwnRedisOptions{})
	client, _ := guarded(t, srv.Addr(), time.Second, nil)
	// A replica of a master that does not answer refuses writes with
	// READONLY, as a demoted master does during a fail-over.
	host, port, _ := net.SplitHostPort(closedPort(t))
	if err := client.Do(t.Context(), "replicaof", host, port).Err(); err != nil {
		t.Fatal(err)
	}
	err := redisstore.NewTokens(client, "x:").SaveToken(t.Context(), opaqueToken(time.Minute))
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) || !strings.Contains(err.Error(), "READONLY") {
		t.Errorf("SaveToken on a replica = %v, want temporarily unavailable (READONLY)", err)
	}
}

func TestCommandErrorsAndMissingKeysAreNotUnavailable(t *testing.T) {
	client, prefix := testenv.Redis(t)
	health := redisstore.Guard(client, redisstore.GuardOptions{Timeout: time.Second})
	t.Cleanup(health.Close)
	if _, err := redisstore.NewTokens(client, prefix).FindToken(t.Context(), "missing"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("FindToken of a missing token = %v, want not found", err)
	}
	// A wrong command is a bug, not an outage.
	err := client.Do(t.Context(), "no-such-command").Err()
	if err == nil || errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Errorf("unknown command error = %v, want a plain error", err)
	}
	if !health.Up() {
		t.Error("a missing key or a wrong command marked Redis down")
	}
}

func TestRedisBackWithinAProbeAfterALongOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a Redis of its own")
	}
	srv := testenv.StartRedis(t, testenv.OwnRedisOptions{})
	client, health := guarded(t, srv.Addr(), time.Second, nil)
	tokens := redisstore.NewTokens(client, "x:")
	srv.Kill()
	if _, err := tokens.FindToken(t.Context(), "v"); !errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Fatalf("FindToken on a killed Redis = %v", err)
	}
	// Fifty failed probes: far more failed dials than go-redis's pool has
	// slots, which would trip its own dial breaker.
	time.Sleep(time.Second)
	srv.Restart()
	back := time.Now()
	for !health.Up() {
		if time.Since(back) > 2*time.Second {
			t.Fatal("Redis not back 2 s after the restart")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := tokens.FindToken(t.Context(), "v"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("FindToken after the restart = %v", err)
	}
	t.Logf("back %v after the restart", time.Since(back))
	if d := time.Since(back); d > 200*time.Millisecond {
		t.Errorf("back only %v after the restart, with a probe every 20 ms", d)
	}
}

func TestGuardedClusterServesAndClassifies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster of its own")
	}
	addrs := testenv.RedisCluster(t)
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs, ContextTimeoutEnabled: true,
		DialerRetries: 1, ReadTimeout: time.Second, WriteTimeout: time.Second})
	health := redisstore.Guard(client, redisstore.GuardOptions{Timeout: time.Second})
	t.Cleanup(func() {
		health.Close()
		_ = client.Close()
	})
	tokens := redisstore.NewTokens(client, "x:")
	// Tokens spread over the three masters' slots, through the batcher's
	// pipelines, which go-redis splits by slot.
	for range 20 {
		tok := opaqueToken(time.Minute)
		if err := tokens.SaveToken(t.Context(), tok); err != nil {
			t.Fatalf("SaveToken on a cluster: %v", err)
		}
		if got, err := tokens.FindToken(t.Context(), tok.Value); err != nil || got.ID != tok.ID {
			t.Fatalf("FindToken on a cluster = %+v, %v", got, err)
		}
	}
	if err := health.Check(t.Context()); err != nil || !health.Up() {
		t.Errorf("a healthy cluster: check %v, up %v", err, health.Up())
	}
	if _, err := redisstore.NewDenyList(client, "x:").ListDenied(t.Context()); err != nil {
		t.Errorf("ListDenied over every master: %v", err)
	}

	// A slot no node serves answers CLUSTERDOWN, as during a fail-over
	// that has not finished.
	deny := redisstore.NewDenyList(client, "x:")
	slot, err := client.ClusterKeySlot(t.Context(), "x:deny:jti").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range addrs {
		node := redis.NewClient(&redis.Options{Addr: addr})
		_ = node.Do(t.Context(), "cluster", "delslots", slot).Err()
		_ = node.Close()
	}
	_, err = deny.IsDenied(t.Context(), "jti")
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) || !strings.Contains(err.Error(), "CLUSTERDOWN") {
		t.Errorf("IsDenied on an unserved slot = %v, want temporarily unavailable (CLUSTERDOWN)", err)
	}
}

func TestUnreachableSentinelsAreUnavailable(t *testing.T) {
	// No Sentinel answers: go-redis says so in words only.
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{closedPort(t)}, MasterName: "mymaster",
		MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	health := redisstore.Guard(client, redisstore.GuardOptions{Timeout: time.Second})
	t.Cleanup(func() {
		health.Close()
		_ = client.Close()
	})
	_, err := redisstore.NewTokens(client, "x:").FindToken(t.Context(), "v")
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Errorf("FindToken with no Sentinel = %v, want temporarily unavailable", err)
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
