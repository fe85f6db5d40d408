package application

import (
	"sync"
	"time"
)

// boundedCache maps keys to values that each expire, holding at most max
// entries whatever callers send. It is only ever a shortcut: when full it
// drops expired entries, then arbitrary ones.
type boundedCache[K comparable, V any] struct {
	max     int
	mu      sync.RWMutex
	entries map[K]expiringValue[V]
}

type expiringValue[V any] struct {
	value V
	until time.Time
}

func newBoundedCache[K comparable, V any](max int) *boundedCache[K, V] {
	return &boundedCache[K, V]{max: max, entries: map[K]expiringValue[V]{}}
}

// get returns the value for k if it has not expired at now.
func (c *boundedCache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// delete forgets k.
func (c *boundedCache[K, V]) delete(k K) {
	c.mu.Lock()
	delete(c.entries, k)
	c.mu.Unlock()
}

// put stores v for k until until; a value already expired is not stored.
func (c *boundedCache[K, V]) put(k K, v V, until, now time.Time) {
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		for key, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, key)
			}
		}
		for key := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, key)
		}
	}
	c.entries[k] = expiringValue[V]{value: v, until: until}
}
