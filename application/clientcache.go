package application

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// ClientCache keeps client records found in the registry for a short
// time, so that token requests do not each read the database and a brief
// database outage does not stop known clients: when the registry fails, a
// record up to staleFor old is used. A changed or deleted client takes
// effect within ttl, or at once when the feed reports it (Apply).
type ClientCache struct {
	inner    ClientFinder
	clock    Clock
	ttl      time.Duration
	staleFor time.Duration
	max      int

	mu      sync.Mutex
	entries map[string]cachedClient
}

type cachedClient struct {
	client  domain.Client
	fetched time.Time
}

// NewClientCache wraps inner; max bounds the number of cached clients.
func NewClientCache(inner ClientFinder, clock Clock, ttl, staleFor time.Duration, max int) *ClientCache {
	return &ClientCache{inner: inner, clock: clock, ttl: ttl, staleFor: staleFor, max: max, entries: map[string]cachedClient{}}
}

// FindClient implements ClientFinder.
func (c *ClientCache) FindClient(ctx context.Context, id string) (domain.Client, error) {
	now := c.clock.Now()
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < c.ttl {
		return e.client, nil
	}
	client, err := c.inner.FindClient(ctx, id)
	switch {
	case err == nil:
		c.store(id, cachedClient{client: client, fetched: now})
		return client, nil
	case errors.Is(err, domain.ErrNotFound):
		c.Forget(id)
		return domain.Client{}, err
	case ok && now.Sub(e.fetched) < c.ttl+c.staleFor:
		// The registry is down: serve what it said a moment ago.
		return e.client, nil
	default:
		return domain.Client{}, err
	}
}

func (c *ClientCache) store(id string, e cachedClient) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[id]; !ok && len(c.entries) >= c.max {
		// Full: drop an arbitrary entry. Client ids are few and chosen by
		// operators, so this is a guard, not an eviction policy.
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[id] = e
}

// Forget drops a client, so the next lookup reads the registry.
func (c *ClientCache) Forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
}

// Apply takes in an event from the feed; other kinds are ignored.
func (c *ClientCache) Apply(e domain.Event) {
	if e.Kind == domain.EventClientChanged {
		c.Forget(e.ClientID)
	}
}

var _ ClientFinder = (*ClientCache)(nil)
