package application

import (
	"sync"
	"sync/atomic"
	"time"
)

// BoundedCache maps keys to values that each hold until an instant, and
// holds at most max entries whatever callers send. It is the one bounded
// memory of the process: checked tokens, verified credentials, client
// records, the failure throttle's and the rate limiter's counts, and the
// JOSE adapter's client key sets. An entry may leave early when the cache
// is full, so a cache is only ever a shortcut or a bound, never the
// record.
//
// A new key that finds the cache full makes room by looking at a few
// entries (a range over a Go map starts at a random place, so they are a
// random sample): those that have expired are dropped, or else the one of
// them that expires first. A flood of new keys so costs each the same
// small time, however large the cache.
type BoundedCache[K comparable, V any] struct {
	max     int
	mu      sync.RWMutex
	entries map[K]cacheEntry[V]
	// hits and misses count Get's answers, for the metrics.
	hits, misses atomic.Uint64
}

// CacheStats are how often a cache's lookups found what they looked for.
type CacheStats struct {
	Hits, Misses uint64
}

// Stats returns the counts of Get's hits and misses so far.
func (c *BoundedCache[K, V]) Stats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load()}
}

type cacheEntry[V any] struct {
	value V
	until time.Time
}

// evictionSample is how many entries are looked at to choose one to drop.
const evictionSample = 8

// never is the expiry of entries stored with Keep: later than any clock
// will read.
var never = time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC)

// NewBoundedCache returns an empty cache that holds at most size entries
// (at least one).
func NewBoundedCache[K comparable, V any](size int) *BoundedCache[K, V] {
	return &BoundedCache[K, V]{max: max(1, size), entries: map[K]cacheEntry[V]{}}
}

// Get returns the value for k if it has not expired at now.
func (c *BoundedCache[K, V]) Get(k K, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		c.misses.Add(1)
		var zero V
		return zero, false
	}
	c.hits.Add(1)
	return e.value, true
}

// Expiry returns until when the entry for k holds, if it has not expired
// at now.
func (c *BoundedCache[K, V]) Expiry(k K, now time.Time) (time.Time, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return time.Time{}, false
	}
	return e.until, true
}

// Put stores v for k until until, replacing what k held. A value already
// expired at now is not stored.
func (c *BoundedCache[K, V]) Put(k K, v V, until, now time.Time) {
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	c.storeLocked(k, cacheEntry[V]{value: v, until: until}, now)
	c.mu.Unlock()
}

// Keep stores v for k without an expiry: it leaves only when Delete drops
// it or the cache is full.
func (c *BoundedCache[K, V]) Keep(k K, v V) {
	c.mu.Lock()
	c.storeLocked(k, cacheEntry[V]{value: v, until: never}, time.Time{})
	c.mu.Unlock()
}

// Update calls fn with k's entry (ok false when it has none or it has
// expired at now) and stores the value and expiry fn returns when keep is
// true, all under one lock: two callers updating the same key never both
// see the same entry. An expiry not after now stores nothing.
func (c *BoundedCache[K, V]) Update(k K, now time.Time, fn func(v V, until time.Time, ok bool) (V, time.Time, bool)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if ok && !now.Before(e.until) {
		ok = false
		e = cacheEntry[V]{}
	}
	v, until, keep := fn(e.value, e.until, ok)
	if keep && now.Before(until) {
		c.storeLocked(k, cacheEntry[V]{value: v, until: until}, now)
	}
}

// Delete forgets k.
func (c *BoundedCache[K, V]) Delete(k K) {
	c.mu.Lock()
	delete(c.entries, k)
	c.mu.Unlock()
}

// Len is the number of entries held, expired ones not yet dropped too.
func (c *BoundedCache[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

func (c *BoundedCache[K, V]) storeLocked(k K, e cacheEntry[V], now time.Time) {
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		c.evictLocked(now)
	}
	c.entries[k] = e
}

// evictLocked drops the entries of a sample that have expired at now, or
// else the one of the sample that expires first.
func (c *BoundedCache[K, V]) evictLocked(now time.Time) {
	var (
		first      K
		firstUntil time.Time
		live       bool // first is set
		dropped    bool
		n          int
	)
	for k, e := range c.entries {
		switch {
		case !now.Before(e.until):
			delete(c.entries, k)
			dropped = true
		case !live || e.until.Before(firstUntil):
			first, firstUntil, live = k, e.until, true
		}
		if n++; n >= evictionSample {
			break
		}
	}
	if !dropped && live {
		delete(c.entries, first)
	}
}
