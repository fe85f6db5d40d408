package application

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// RevocationSet is a node's memory of revoked tokens: by jti, fed by the
// event feed and caught up from the deny list, each entry kept until the
// token would have expired; and by client, every token of a client issued
// up to a time (RevokeClientTokens), fed by the feed and reloaded from
// storage. The bearer check reads it on every request, so a jti lookup
// takes only a read lock and a client lookup none.
type RevocationSet struct {
	mu      sync.RWMutex
	revoked map[string]time.Time
	clock   Clock
	// clients maps a client id to the time up to which its tokens are
	// revoked. Revocations of whole clients are rare and few, so the map
	// is replaced whole on a change and read without a lock.
	clients   atomic.Pointer[map[string]time.Time]
	clientsMu sync.Mutex // serialises writers of clients
}

// NewRevocationSet returns an empty set.
func NewRevocationSet(clock Clock) *RevocationSet {
	return &RevocationSet{revoked: map[string]time.Time{}, clock: clock}
}

// Apply takes in an event from the feed; other kinds are ignored.
func (s *RevocationSet) Apply(e domain.Event) {
	if e.Kind == domain.EventClientTokensRevoked {
		s.revokeClient(e.ClientID, e.IssuedBefore)
		return
	}
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

// ClientRevoked reports whether the tokens of client issued at issuedAt
// were revoked as a whole (domain.RevokesIssuedAt). It is one map lookup,
// without a lock or an allocation; a nil set knows of no revocation.
func (s *RevocationSet) ClientRevoked(client string, issuedAt time.Time) bool {
	if s == nil {
		return false
	}
	m := s.clients.Load()
	if m == nil {
		return false
	}
	before, ok := (*m)[client]
	return ok && domain.RevokesIssuedAt(before, issuedAt)
}

// revokeClient records that the tokens of client issued up to before are
// revoked; an earlier time than the one known changes nothing, so events
// may arrive twice and in any order.
func (s *RevocationSet) revokeClient(client string, before time.Time) {
	if client == "" || before.IsZero() {
		return
	}
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	old := s.clients.Load()
	if old != nil && !before.After((*old)[client]) {
		return
	}
	next := make(map[string]time.Time, 1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[client] = before
	s.clients.Store(&next)
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

// CatchUpClients loads every revocation of a client's tokens from
// storage: at start, when the feed (re)subscribes, and on a schedule, so
// that a node without the feed learns of them within that period.
func (s *RevocationSet) CatchUpClients(ctx context.Context, from ClientRevocationLister) (int, error) {
	list, err := from.ListClientRevocations(ctx)
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
