package contract

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sigilauth/sigil/application"
)

// Locker checks an application.Locker. newLockers returns two lockers
// over the same fresh storage, as two nodes sharing it would hold them
// (separate connection pools for a database; the same value for an
// in-process fake).
func Locker(t *testing.T, newLockers func(t *testing.T) (application.Locker, application.Locker)) {
	const name = "signing-keys"

	// try calls TryLocked with work that counts its runs.
	try := func(t *testing.T, l application.Locker, name string) (ran bool, runs int) {
		t.Helper()
		var n int
		ran, err := l.TryLocked(t.Context(), name, func(context.Context) error { n++; return nil })
		if err != nil {
			t.Fatalf("TryLocked(%s): %v", name, err)
		}
		if ran != (n == 1) {
			t.Errorf("TryLocked(%s) reported ran = %v but the work ran %d times", name, ran, n)
		}
		return ran, n
	}

	t.Run("a free lock runs the work once", func(t *testing.T) {
		a, _ := newLockers(t)
		if ran, _ := try(t, a, name); !ran {
			t.Error("TryLocked on a free lock did not run the work")
		}
	})

	t.Run("while the work runs the lock turns everyone else away", func(t *testing.T) {
		a, b := newLockers(t)
		ran, err := a.TryLocked(t.Context(), name, func(ctx context.Context) error {
			if ran, _ := try(t, a, name); ran {
				t.Error("a second TryLocked through the same locker ran while the lock was held")
			}
			if ran, _ := try(t, b, name); ran {
				t.Error("TryLocked through the other node's locker ran while the lock was held")
			}
			if ran, _ := try(t, b, "another-lock"); !ran {
				t.Error("a lock of another name did not run while this one was held")
			}
			return nil
		})
		if err != nil || !ran {
			t.Fatalf("TryLocked = %v, %v; want true, nil", ran, err)
		}
	})

	t.Run("the lock is free again once the work returns", func(t *testing.T) {
		a, b := newLockers(t)
		for i, l := range []application.Locker{a, b, a, b} {
			if ran, _ := try(t, l, name); !ran {
				t.Fatalf("TryLocked #%d after the previous work returned did not run", i+1)
			}
		}
	})

	t.Run("failing work gives its error back and frees the lock", func(t *testing.T) {
		a, b := newLockers(t)
		boom := errors.New("boom")
		ran, err := a.TryLocked(t.Context(), name, func(context.Context) error { return boom })
		if !ran || !errors.Is(err, boom) {
			t.Fatalf("TryLocked with failing work = %v, %v; want true and the work's error", ran, err)
		}
		if ran, _ := try(t, b, name); !ran {
			t.Error("the lock was not freed after the work failed")
		}
	})

	t.Run("panicking work frees the lock", func(t *testing.T) {
		a, b := newLockers(t)
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("recovered %v, want the work's panic", r)
				}
			}()
			_, _ = a.TryLocked(t.Context(), name, func(context.Context) error { panic("boom") })
		}()
		if ran, _ := try(t, b, name); !ran {
			t.Error("the lock was not freed after the work panicked")
		}
	})

	t.Run("of many nodes trying at once exactly one runs", func(t *testing.T) {
		a, b := newLockers(t)
		const tries = 8
		var (
			runs, refused atomic.Int32
			release       = make(chan struct{})
			start         = make(chan struct{})
			wg            sync.WaitGroup
		)
		for i := range tries {
			l := a
			if i%2 == 1 {
				l = b
			}
			wg.Go(func() {
				<-start
				ran, err := l.TryLocked(t.Context(), name, func(context.Context) error {
					runs.Add(1)
					<-release // hold the lock until every other try has answered
					return nil
				})
				if err != nil {
					t.Errorf("TryLocked: %v", err)
				}
				if !ran {
					refused.Add(1)
				}
			})
		}
		close(start)
		// A correct lock refuses tries-1 at once; a broken one lets a
		// second try run and block, and the wait ends at its limit.
		eventually(t, func() bool { return refused.Load() == tries-1 })
		close(release)
		wg.Wait()
		if n := runs.Load(); n != 1 {
			t.Errorf("%d of %d concurrent tries ran the work, want exactly 1", n, tries)
		}
	})
}
