package application

import (
	"context"
	"sync"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// RevocationSet is a resource node's memory of revoked tokens by jti, fed
// by the event feed and caught up from the deny list, each entry kept
// until the token would have expired. The bearer check reads it on every
// request, so lookups take only a read lock.
type RevocationSet struct {
	mu      sync.RWMutex
	revoked map[string]time.Time
	clock   Clock
}

// NewRevocationSet returns an empty set.
func NewRevocationSet(clock Clock) *RevocationSet {
	return &RevocationSet{revoked: map[string]time.Time{}, clock: clock}
}

// Apply takes in an event from the feed; other kinds are ignored.
func (s *RevocationSet) Apply(e domain.Event) {
	if e.Kind != domain.EventRevoked || e.JTI == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.ExpiresAt.After(s.revoked[e.JTI]) {
		s.revoked[e.JTI] = e.ExpiresAt
	}
}

// Revoked reports whether the token with jti was revoked. A nil set knows
// of no revocation.
func (s *RevocationSet) Revoked(jti string) bool {
	if s == nil {
		return false
	}
	s.mu.RLock()
	until, ok := s.revoked[jti]
	s.mu.RUnlock()
	return ok && s.clock.Now().Before(until)
}

// Sweep forgets entries whose tokens have expired anyway.
func (s *RevocationSet) Sweep() {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for jti, until := range s.revoked {
		if !now.Before(until) {
			delete(s.revoked, jti)
		}
	}
}

// CatchUp loads every live deny-list entry, for a node that starts or
// reconnects to the feed after missing messages.
func (s *RevocationSet) CatchUp(ctx context.Context, from DenyLister) (int, error) {
	list, err := from.ListDenied(ctx)
	if err != nil {
		return 0, err
	}
	for _, e := range list {
		s.Apply(e)
	}
	return len(list), nil
}

// Publish applies the event in process: the feed of a single node without
// Redis, where the auth and resource roles share this set.
func (s *RevocationSet) Publish(_ context.Context, e domain.Event) error {
	s.Apply(e)
	return nil
}

var _ EventPublisher = (*RevocationSet)(nil)
