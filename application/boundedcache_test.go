package application_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
)

func TestBoundedCacheNeverHoldsMoreThanItsBound(t *testing.T) {
	const size = 100
	c := application.NewBoundedCache[string, int](size)
	for i := range 10 * size {
		k := fmt.Sprint("k", i)
		c.Put(k, i, t0.Add(time.Hour+time.Duration(i)), t0)
		if n := c.Len(); n > size {
			t.Fatalf("%d entries after %d puts, bound %d", n, i+1, size)
		}
		if v, ok := c.Get(k, t0); !ok || v != i {
			t.Fatalf("the entry just put is %v %v, want %d", v, ok, i)
		}
	}
	if c.Len() != size {
		t.Errorf("%d entries after a flood, want the bound %d", c.Len(), size)
	}
}

func TestBoundedCacheEntriesExpire(t *testing.T) {
	c := application.NewBoundedCache[string, string](10)
	c.Put("a", "x", t0.Add(time.Minute), t0)
	if v, ok := c.Get("a", t0.Add(time.Minute-time.Nanosecond)); !ok || v != "x" {
		t.Errorf("before its expiry: %q %v", v, ok)
	}
	if until, ok := c.Expiry("a", t0); !ok || !until.Equal(t0.Add(time.Minute)) {
		t.Errorf("expiry %v %v, want %v", until, ok, t0.Add(time.Minute))
	}
	if _, ok := c.Get("a", t0.Add(time.Minute)); ok {
		t.Error("an entry was served at its expiry")
	}
	if _, ok := c.Expiry("a", t0.Add(time.Minute)); ok {
		t.Error("an expired entry has an expiry")
	}
	c.Put("b", "y", t0, t0)
	if c.Len() != 1 {
		t.Error("a value already expired was stored")
	}
	c.Keep("k", "kept")
	if v, ok := c.Get("k", t0.AddDate(100, 0, 0)); !ok || v != "kept" {
		t.Errorf("a kept entry after a century: %q %v", v, ok)
	}
	c.Delete("k")
	if _, ok := c.Get("k", t0); ok {
		t.Error("a deleted entry was served")
	}
}

// A full cache makes room with what has expired before anything live.
func TestBoundedCacheDropsExpiredEntriesFirst(t *testing.T) {
	// No more entries than one sample looks at, so the sample is all.
	const size = 8
	c := application.NewBoundedCache[int, int](size)
	for i := range size - 1 {
		c.Put(i, i, t0.Add(time.Hour), t0)
	}
	c.Put(99, 99, t0.Add(time.Second), t0)
	now := t0.Add(time.Minute) // 99 has expired
	c.Put(100, 100, now.Add(time.Hour), now)
	for i := range size - 1 {
		if _, ok := c.Get(i, now); !ok {
			t.Errorf("live entry %d was dropped while an expired one was there", i)
		}
	}
	// All live: the one that expires first goes.
	c.Put(7, 7, now.Add(time.Minute), now)
	c.Put(101, 101, now.Add(time.Hour), now)
	if _, ok := c.Get(7, now); ok {
		t.Error("the entry closest to its expiry was kept and another dropped")
	}
	if c.Len() != size {
		t.Errorf("%d entries, want %d", c.Len(), size)
	}
}

// Update is one step: concurrent updates of a key lose none.
func TestBoundedCacheUpdateIsAtomic(t *testing.T) {
	c := application.NewBoundedCache[string, int](4)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Update("n", t0, func(v int, _ time.Time, _ bool) (int, time.Time, bool) {
					return v + 1, t0.Add(time.Hour), true
				})
			}
		})
	}
	wg.Wait()
	if v, _ := c.Get("n", t0); v != 8000 {
		t.Errorf("counted %d, want 8000", v)
	}
	// An expired entry is passed as none, and keep false stores nothing.
	c.Update("n", t0.Add(time.Hour), func(v int, until time.Time, ok bool) (int, time.Time, bool) {
		if ok || v != 0 || !until.IsZero() {
			t.Errorf("an expired entry was passed as %d until %v (ok %v)", v, until, ok)
		}
		return 1, t0.Add(2 * time.Hour), false
	})
	if _, ok := c.Get("n", t0.Add(time.Hour)); ok {
		t.Error("Update stored a value it was told not to keep")
	}
}

// BenchmarkBoundedCachePutWhenFull is a flood of new keys into a full
// cache of live entries: each put costs the same whatever the bound.
func BenchmarkBoundedCachePutWhenFull(b *testing.B) {
	for _, size := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			c := application.NewBoundedCache[int, struct{}](size)
			until := t0.Add(time.Hour)
			for i := range size {
				c.Put(i, struct{}{}, until, t0)
			}
			i := size
			b.ReportAllocs()
			for b.Loop() {
				c.Put(i, struct{}{}, until, t0)
				i++
			}
		})
	}
}
