package application

import (
	"context"
	"errors"
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
	// entries hold each record until it is too old even to serve stale.
	entries *BoundedCache[string, cachedClient]
}

type cachedClient struct {
	client  domain.Client
	fetched time.Time
}

// NewClientCache wraps inner; max bounds the number of cached clients.
// Client ids are few and chosen by operators, so the bound is a guard
// against a flood of made-up ids, not an eviction policy.
func NewClientCache(inner ClientFinder, clock Clock, ttl, staleFor time.Duration, max int) *ClientCache {
	return &ClientCache{inner: inner, clock: clock, ttl: ttl, staleFor: staleFor, entries: NewBoundedCache[string, cachedClient](max)}
}

// FindClient implements ClientFinder.
func (c *ClientCache) FindClient(ctx context.Context, id string) (domain.Client, error) {
	now := c.clock.Now()
	e, ok := c.entries.Get(id, now)
	if ok && now.Sub(e.fetched) < c.ttl {
		return e.client, nil
	}
	client, err := c.inner.FindClient(ctx, id)
	switch {
	case err == nil:
		c.entries.Put(id, cachedClient{client: client, fetched: now}, now.Add(c.ttl+c.staleFor), now)
		return client, nil
	case errors.Is(err, domain.ErrNotFound):
		c.Forget(id)
		return domain.Client{}, err
	case ok:
		// The registry is down: serve what it said a moment ago.
		return e.client, nil
	default:
		return domain.Client{}, err
	}
}

// Forget drops a client, so the next lookup reads the registry.
func (c *ClientCache) Forget(id string) { c.entries.Delete(id) }

// Apply takes in an event from the feed; other kinds are ignored.
func (c *ClientCache) Apply(e domain.Event) {
	if e.Kind == domain.EventClientChanged {
		c.Forget(e.ClientID)
	}
}

var _ ClientFinder = (*ClientCache)(nil)

// CacheStats counts the lookups that found a client record in the cache.
func (c *ClientCache) CacheStats() CacheStats { return c.entries.Stats() }
