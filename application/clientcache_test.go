package application_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// countingClients is a registry that counts its lookups and can be taken
// down.
type countingClients struct {
	*fakes.Clients
	calls atomic.Int64
	down  atomic.Bool
}

func (c *countingClients) FindClient(ctx context.Context, id string) (domain.Client, error) {
	c.calls.Add(1)
	if c.down.Load() {
		return domain.Client{}, fmt.Errorf("find client: %w", fakes.ErrDown)
	}
	return c.Clients.FindClient(ctx, id)
}

const (
	cacheTTL   = time.Minute
	cacheStale = 10 * time.Minute
)

type cacheEnv struct {
	clock *fakes.Clock
	inner *countingClients
	cache *application.ClientCache
}

func newCacheEnv(t *testing.T, max int, ids ...string) *cacheEnv {
	t.Helper()
	c := &cacheEnv{clock: fakes.NewClock(t0), inner: &countingClients{Clients: fakes.NewClients()}}
	c.cache = application.NewClientCache(c.inner, c.clock, cacheTTL, cacheStale, max)
	for _, id := range ids {
		c.save(t, id, "v1")
	}
	return c
}

// save registers version of client id; the version is its audience, so
// a test sees which version it got.
func (c *cacheEnv) save(t *testing.T, id, version string) {
	t.Helper()
	if err := c.inner.SaveClient(t.Context(), domain.Client{ID: id, Audience: []string{version}}); err != nil {
		t.Fatal(err)
	}
}

// find looks id up through the cache and returns the version it got.
func (c *cacheEnv) find(t *testing.T, id string) string {
	t.Helper()
	got, err := c.cache.FindClient(t.Context(), id)
	if err != nil {
		t.Fatalf("find %s: %v", id, err)
	}
	if got.ID != id || len(got.Audience) != 1 {
		t.Fatalf("find %s returned %+v", id, got)
	}
	return got.Audience[0]
}

// wantCalls fails unless the registry was read n times in all.
func (c *cacheEnv) wantCalls(t *testing.T, n int64, when string) {
	t.Helper()
	if got := c.inner.calls.Load(); got != n {
		t.Errorf("%s: registry read %d times, want %d", when, got, n)
	}
}

func TestClientCacheHitWithinTTL(t *testing.T) {
	c := newCacheEnv(t, 10, "svc")
	if got := c.find(t, "svc"); got != "v1" {
		t.Fatalf("first lookup got %q", got)
	}
	c.wantCalls(t, 1, "first lookup")

	c.save(t, "svc", "v2")
	c.clock.Advance(cacheTTL - time.Second)
	for range 3 {
		if got := c.find(t, "svc"); got != "v1" {
			t.Errorf("lookup within ttl got %q, want the cached v1", got)
		}
	}
	c.wantCalls(t, 1, "lookups within ttl")

	// At ttl the record is read again, and the change shows.
	c.clock.Advance(time.Second)
	if got := c.find(t, "svc"); got != "v2" {
		t.Errorf("lookup after ttl got %q, want v2", got)
	}
	c.wantCalls(t, 2, "lookup after ttl")
	if got := c.find(t, "svc"); got != "v2" {
		t.Errorf("lookup right after the refetch got %q, want v2", got)
	}
	c.wantCalls(t, 2, "lookup right after the refetch")
}

// An unknown client is not remembered: registering it takes effect at
// once.
func TestClientCacheNotFoundIsNotCached(t *testing.T) {
	c := newCacheEnv(t, 10)
	for range 2 {
		_, err := c.cache.FindClient(t.Context(), "new")
		if !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("unknown client: error %v, want ErrNotFound", err)
		}
	}
	c.wantCalls(t, 2, "two lookups of an unknown client")
	c.save(t, "new", "v1")
	if got := c.find(t, "new"); got != "v1" {
		t.Errorf("newly registered client got %q", got)
	}
}

// A client the registry no longer has is forgotten: it is not served
// stale when the registry then fails.
func TestClientCacheNotFoundForgets(t *testing.T) {
	c := newCacheEnv(t, 10, "svc")
	c.find(t, "svc")
	if err := c.inner.DeleteClient(t.Context(), "svc"); err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(cacheTTL)
	if _, err := c.cache.FindClient(t.Context(), "svc"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("deleted client: error %v, want ErrNotFound", err)
	}
	c.inner.down.Store(true)
	// The registry's error, not the forgotten record served stale.
	_, err := c.cache.FindClient(t.Context(), "svc")
	wantInfraError(t, err, fakes.ErrDown)
}

// While the registry is down, a known client keeps working for staleFor
// past its ttl, then the failure shows.
func TestClientCacheServesStaleWhileRegistryDown(t *testing.T) {
	c := newCacheEnv(t, 10, "svc")
	c.find(t, "svc")
	c.inner.down.Store(true)

	c.clock.Advance(cacheTTL)
	if got := c.find(t, "svc"); got != "v1" {
		t.Errorf("stale lookup got %q", got)
	}
	c.wantCalls(t, 2, "stale lookup") // it did try the registry
	c.clock.Advance(cacheStale - time.Second)
	if got := c.find(t, "svc"); got != "v1" {
		t.Errorf("stale lookup a second before the limit got %q", got)
	}

	c.clock.Advance(time.Second)
	_, err := c.cache.FindClient(t.Context(), "svc")
	wantInfraError(t, err, fakes.ErrDown)

	// An unknown client is the registry's error at once.
	if _, err := c.cache.FindClient(t.Context(), "other"); !errors.Is(err, fakes.ErrDown) {
		t.Errorf("uncached client with the registry down: error %v, want the registry's", err)
	}

	// Back up: fresh again.
	c.inner.down.Store(false)
	c.save(t, "svc", "v2")
	if got := c.find(t, "svc"); got != "v2" {
		t.Errorf("after the registry came back got %q, want v2", got)
	}
}

// The feed's client_changed takes effect at once; other events do not
// touch the cache.
func TestClientCacheApply(t *testing.T) {
	c := newCacheEnv(t, 10, "svc", "other")
	c.find(t, "svc")
	c.find(t, "other")
	c.save(t, "svc", "v2")
	c.save(t, "other", "v2")

	for _, e := range []domain.Event{
		{Kind: domain.EventRevoked, JTI: "svc", ClientID: "svc", ExpiresAt: t0.Add(time.Hour)},
		{Kind: domain.EventKeyRemoved, KID: "svc", ClientID: "svc"},
	} {
		c.cache.Apply(e)
	}
	if got := c.find(t, "svc"); got != "v1" {
		t.Errorf("an event of another kind dropped the cached client: got %q, want v1", got)
	}

	c.cache.Apply(domain.Event{Kind: domain.EventClientChanged, ClientID: "svc"})
	if got := c.find(t, "svc"); got != "v2" {
		t.Errorf("after client_changed got %q, want v2", got)
	}
	if got := c.find(t, "other"); got != "v1" {
		t.Errorf("client_changed for svc dropped other: got %q, want cached v1", got)
	}

	// A client changed to nothing (deleted): found no more.
	if err := c.inner.DeleteClient(t.Context(), "other"); err != nil {
		t.Fatal(err)
	}
	c.cache.Apply(domain.Event{Kind: domain.EventClientChanged, ClientID: "other"})
	if _, err := c.cache.FindClient(t.Context(), "other"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("deleted client after client_changed: error %v, want ErrNotFound", err)
	}
}

// The cache holds at most max clients. With the registry down, exactly
// the cached ones are still served.
func TestClientCacheBound(t *testing.T) {
	const max = 3
	ids := []string{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"}
	c := newCacheEnv(t, max, ids...)
	for _, id := range ids {
		c.find(t, id)
	}
	c.inner.down.Store(true)
	served := 0
	for _, id := range ids {
		if _, err := c.cache.FindClient(t.Context(), id); err == nil {
			served++
		}
	}
	if served != max {
		t.Errorf("%d clients cached, want the bound %d", served, max)
	}
	if _, err := c.cache.FindClient(t.Context(), "c9"); err != nil {
		t.Errorf("the client cached last was evicted: %v", err)
	}
}

// Refreshing a client already cached evicts nothing, even when full.
func TestClientCacheRefreshDoesNotEvict(t *testing.T) {
	ids := []string{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"}
	c := newCacheEnv(t, len(ids), ids...)
	for _, id := range ids {
		c.find(t, id)
	}
	c.clock.Advance(cacheTTL)
	c.find(t, "c0") // refetched, the cache full
	c.inner.down.Store(true)
	for _, id := range ids {
		if _, err := c.cache.FindClient(t.Context(), id); err != nil {
			t.Errorf("%s was evicted by the refresh of c0: %v", id, err)
		}
	}
}

var _ application.ClientFinder = (*countingClients)(nil)
