package application

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// MemoryReplayGuard is a ReplayGuard in process memory, for a node that
// has no storage shared with the others: a resource node without Redis.
// It holds at most max ids; when full, it first forgets the ids that
// have expired, and if none has, it refuses to record more (an error,
// which callers answer 503) rather than forget a live id and let its
// proof be replayed.
type MemoryReplayGuard struct {
	clock Clock
	max   int
	mu    sync.Mutex
	ids   map[[sha256.Size]byte]time.Time
}

var _ ReplayGuard = (*MemoryReplayGuard)(nil)

// NewMemoryReplayGuard holds at most max ids, judging expiry by clock.
func NewMemoryReplayGuard(clock Clock, max int) *MemoryReplayGuard {
	return &MemoryReplayGuard{clock: clock, max: max, ids: map[[sha256.Size]byte]time.Time{}}
}

// errReplayGuardFull is the guard out of room for live ids.
var errReplayGuardFull = errors.New("replay guard full: too many live ids")

// FirstUse implements ReplayGuard. Ids are kept as their SHA-256, so a
// long id costs no more than a short one.
func (g *MemoryReplayGuard) FirstUse(_ context.Context, id string, until time.Time) (bool, error) {
	key := sha256.Sum256([]byte(id))
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if exp, ok := g.ids[key]; ok && now.Before(exp) {
		return false, nil
	}
	if !now.Before(until) {
		return true, nil
	}
	if len(g.ids) >= g.max {
		for k, exp := range g.ids {
			if !now.Before(exp) {
				delete(g.ids, k)
			}
		}
		if len(g.ids) >= g.max {
			return false, errReplayGuardFull
		}
	}
	g.ids[key] = until
	return true, nil
}
