package application

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// HashSlots bounds how many slow secret hashes (argon2id, bcrypt) run at
// once. Each argon2id run takes 19 MiB and tens of milliseconds of a
// core; without a bound, a flood of wrong secrets runs as many at once as
// it has connections, and memory and every core go to it. A request that
// finds no free slot within the wait is refused with a
// domain.ThrottledBusy error rather than queued without end.
//
// Failed verifications may also take only a share of the slots' time.
// Failed hash time is drawn from a budget that refills at that share of
// the slots (and holds at most failureBurst per slot): a few failures in
// a row, a client with an old secret or a mistyped one, cost nothing
// more; once a flood of wrong secrets has used the budget up, the slot of
// each failed hash rests until the budget is even again. A flood from ever
// new addresses, which no per-address count stops, then costs at most that
// share of a core per slot, and everything that needs no slow hash keeps
// the rest. A successful verification releases its slot at once.
type HashSlots struct {
	slots chan struct{}
	wait  time.Duration

	// share is the part of the slots' time failures may take; 0 is no
	// bound.
	share float64
	mu    sync.Mutex
	// budget is the failed hash time still allowed now, negative when a
	// rest is owed; it was last brought up to date at last.
	budget time.Duration
	last   time.Time

	// Counts for the metrics.
	hashed, failed, refused atomic.Uint64
	waited                  atomic.Int64 // nanoseconds spent waiting for a slot
}

// HashSlotStats are what the slots have done so far, for the metrics.
type HashSlotStats struct {
	Size, InUse             int
	Hashed, Failed, Refused uint64
	// Waited is the time requests spent waiting for a slot, in all.
	Waited time.Duration
}

// Stats returns the slots' counts; zero for nil (no bound on hashes).
func (s *HashSlots) Stats() HashSlotStats {
	if s == nil {
		return HashSlotStats{}
	}
	return HashSlotStats{
		Size: cap(s.slots), InUse: len(s.slots),
		Hashed: s.hashed.Load(), Failed: s.failed.Load(), Refused: s.refused.Load(),
		Waited: time.Duration(s.waited.Load()),
	}
}

// failureBurst is how much failed hash time each slot allows before
// failures are held to their share: some thirty argon2id runs.
const failureBurst = time.Second

// busyRetryAfter is what a request refused for want of a slot is asked to
// wait: slots free up within tens of milliseconds, but a client retrying
// at once would only join the crowd.
const busyRetryAfter = time.Second

// NewHashSlots allows n slow hashes at once (at least one), each request
// waiting at most wait for a slot, and failed hashes failurePercent of the
// slots' time at most, past a burst (100 or more, or 0, sets no such
// bound).
func NewHashSlots(n int, wait time.Duration, failurePercent int) *HashSlots {
	s := &HashSlots{slots: make(chan struct{}, max(1, n)), wait: wait}
	if failurePercent > 0 && failurePercent < 100 {
		s.share = float64(failurePercent) / 100
		s.budget = s.capacity()
	}
	return s
}

func (s *HashSlots) capacity() time.Duration { return failureBurst * time.Duration(cap(s.slots)) }

// restAfterFailure charges a failed hash that took took to the budget and
// returns how long its slot must rest for failures to keep to their share.
func (s *HashSlots) restAfterFailure(took time.Duration, now time.Time) time.Duration {
	// Hash time the budget regains per unit of wall time.
	rate := s.share * float64(cap(s.slots))
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.last.IsZero() {
		s.budget = min(s.capacity(), s.budget+time.Duration(float64(now.Sub(s.last))*rate))
	}
	s.last = now
	s.budget -= took
	if s.budget >= 0 {
		return 0
	}
	return time.Duration(float64(-s.budget) / rate)
}

// run runs fn in a slot, or returns a *domain.Throttled error when none
// frees up within the wait or before ctx ends. fn reports whether the
// verification failed. The wait is in real time: it is how long a request
// is held, whatever the clock of the use case.
func (s *HashSlots) run(ctx context.Context, fn func() (failed bool)) error {
	if s == nil {
		fn()
		return nil
	}
	select {
	case s.slots <- struct{}{}:
	default:
		if s.wait <= 0 {
			s.refused.Add(1)
			return &domain.Throttled{Reason: domain.ThrottledBusy, RetryAfter: busyRetryAfter}
		}
		queued := time.Now()
		t := time.NewTimer(s.wait)
		defer t.Stop()
		var got bool
		select {
		case s.slots <- struct{}{}:
			got = true
		case <-t.C:
		case <-ctx.Done():
			// The caller left (or its deadline passed) while waiting: no
			// server error to log, just no room.
		}
		s.waited.Add(int64(time.Since(queued)))
		if !got {
			s.refused.Add(1)
			return &domain.Throttled{Reason: domain.ThrottledBusy, RetryAfter: busyRetryAfter}
		}
	}
	release := func() { <-s.slots }
	defer func() {
		// Also when fn panics.
		if release != nil {
			release()
		}
	}()
	start := time.Now()
	failed := fn()
	s.hashed.Add(1)
	if failed {
		s.failed.Add(1)
	}
	if failed && s.share > 0 {
		now := time.Now()
		if rest := s.restAfterFailure(now.Sub(start), now); rest > 0 {
			time.AfterFunc(rest, release)
			release = nil
		}
	}
	return nil
}

// FailureThrottle limits failed client authentications per client id,
// per source address and per pair of the two (RFC 6749 §2.3.1). Once a
// count is used up, further attempts under it are refused with a
// *domain.Throttled error before the client is looked up or any hash
// runs. Credentials the verified-credential cache knows never reach it,
// so a client that authenticated once keeps working whatever an attacker
// sends.
//
// Failures are counted after the hash, and a node learns that a count is
// used up when one of its own failures fills it or is refused by it; it
// then refuses on its own until the count has room again, without asking
// the shared store. So past the limit each other node runs at most one
// more hash per count each time the count frees up. Successes are never
// counted, so many clients behind one address do not use up its count by
// authenticating.
//
// The allowed pace falls as failures go on: Limit failures per Window,
// then 3×Limit per 60×Window, then 10×Limit per 1440×Window (with the
// defaults, 10 a minute, 30 an hour, 100 a day, the first ten at once);
// each level refills on its own when the failures stop.
//
// An address from which a client id authenticated successfully is
// remembered for the longest level (in the process, and with
// ShareKnownAddresses for every node and across restarts); failures for
// that id from that address count only under the pair, and the id's and
// the address's counts do not stop it, so a flood of guesses for an id
// from elsewhere does not lock its own client out when its cached
// credentials expire or the node restarts.
type FailureThrottle struct {
	limiter RateLimiter
	clock   Clock
	levels  [3]Limit
	// refused remembers, per count, until when it refuses.
	refused *BoundedCache[string, struct{}]
	// known holds the (id, address) pairs that authenticated
	// successfully, until when they are trusted; shared, when set, keeps
	// them for every node and across restarts.
	known    *BoundedCache[string, struct{}]
	shared   KnownAddresses
	knownFor time.Duration
	// sharedDownUntil is when to ask the shared store again after it
	// failed, in Unix nanoseconds; zero while it works.
	sharedDownUntil atomic.Int64
}

// ShareKnownAddresses keeps the addresses clients authenticated from in
// k as well as in the process. A failing k is taken as knowing nothing
// new: the throttle then judges by what this node remembers.
func (t *FailureThrottle) ShareKnownAddresses(k KnownAddresses) {
	if t != nil {
		t.shared = k
	}
}

// throttleTableSize bounds each of the throttle's own tables.
const throttleTableSize = 100_000

// NewFailureThrottle allows limit failures per window for each id,
// address and pair, slowing down as described on FailureThrottle. It
// returns nil, no throttle, when limit or window is not positive.
func NewFailureThrottle(limiter RateLimiter, clock Clock, limit int, window time.Duration) *FailureThrottle {
	if limit <= 0 || window <= 0 {
		return nil
	}
	t := &FailureThrottle{
		limiter: limiter,
		clock:   clock,
		levels: [3]Limit{
			{Rate: limit, Burst: limit, Period: window},
			{Rate: 3 * limit, Burst: 3 * limit, Period: 60 * window},
			{Rate: 10 * limit, Burst: 10 * limit, Period: 1440 * window},
		},
		refused:  NewBoundedCache[string, struct{}](throttleTableSize),
		known:    NewBoundedCache[string, struct{}](throttleTableSize),
		knownFor: 1440 * window,
	}
	return t
}

// counters are the keys an attempt for id from addr counts under.
func (t *FailureThrottle) counters(ctx context.Context, id string, addr netip.Addr, now time.Time) []string {
	idKey := "id:" + hashed(id)
	a, ok := addressKey(addr)
	if !ok {
		return []string{idKey}
	}
	pair := "pair:" + hashed(id+"\x00"+a)
	if t.isKnown(ctx, pair, now) {
		return []string{pair}
	}
	return []string{"addr:" + a, idKey, pair}
}

// isKnown reports whether the pair authenticated successfully before, as
// this node remembers or else as the shared store does; what the store
// knows is then remembered here too.
func (t *FailureThrottle) isKnown(ctx context.Context, pair string, now time.Time) bool {
	if _, ok := t.known.Get(pair, now); ok {
		return true
	}
	if t.shared == nil {
		return false
	}
	if until := t.sharedDownUntil.Load(); until != 0 && now.UnixNano() < until {
		return false
	}
	ok, err := t.shared.Known(ctx, pair)
	if err != nil {
		// Do not make every attempt wait for a store that is down.
		t.sharedDownUntil.Store(now.Add(primaryRetry).UnixNano())
		return false
	}
	t.sharedDownUntil.Store(0)
	if !ok {
		return false
	}
	// Until the store's own expiry is not known here: trust it for a
	// while, and ask again after.
	t.known.Put(pair, struct{}{}, now.Add(min(t.knownFor, time.Hour)), now)
	return true
}

// refusedNow returns a *domain.Throttled error if a count the attempt
// falls under is used up, as far as this node knows.
func (t *FailureThrottle) refusedNow(ctx context.Context, id string, addr netip.Addr) error {
	if t == nil {
		return nil
	}
	now := t.clock.Now()
	for _, k := range t.counters(ctx, id, addr, now) {
		if until, ok := t.refused.Expiry(k, now); ok {
			return &domain.Throttled{Reason: domain.ThrottledFailures, RetryAfter: until.Sub(now)}
		}
	}
	return nil
}

// failed counts a failed authentication for id from addr under each of
// its counts and levels, and remembers the counts that refuse it. A
// limiter that fails counts nothing: the hash slots still bound what
// guesses cost, and an outage of the counts must not refuse every client.
func (t *FailureThrottle) failed(ctx context.Context, id string, addr netip.Addr) {
	if t == nil {
		return
	}
	for _, k := range t.counters(ctx, id, addr, t.clock.Now()) {
		for i, l := range t.levels {
			d, err := t.limiter.Allow(ctx, k+":"+string(rune('0'+i)), l)
			if err != nil {
				return
			}
			// Refused, or allowed as the last the count holds: either
			// way attempts under k wait until it has room again.
			if !d.Allowed || d.RetryAfter > 0 {
				now := t.clock.Now()
				t.refused.Put(k, struct{}{}, now.Add(d.RetryAfter), now)
			}
			if !d.Allowed {
				break
			}
		}
	}
}

// succeeded remembers that id authenticated from addr.
func (t *FailureThrottle) succeeded(ctx context.Context, id string, addr netip.Addr) {
	if t == nil {
		return
	}
	a, ok := addressKey(addr)
	if !ok {
		return
	}
	now := t.clock.Now()
	pair := "pair:" + hashed(id+"\x00"+a)
	t.known.Put(pair, struct{}{}, now.Add(t.knownFor), now)
	if t.shared != nil {
		// Best effort: this node remembers it either way.
		_ = t.shared.Remember(ctx, pair, t.knownFor)
	}
}

// addressKey is the text an address is counted under: IPv4 as it is, IPv6
// by its /64, the least a network is given, so an attacker cannot make up
// a fresh address per guess. An unknown address counts under none.
func addressKey(a netip.Addr) (string, bool) {
	if !a.IsValid() {
		return "", false
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String(), true
	}
	p, err := a.Prefix(64)
	if err != nil {
		return "", false
	}
	return p.String(), true
}

// hashed shortens a caller-chosen value (a client id of any length) to a
// fixed-size key.
func hashed(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// Endpoint names the endpoint a client authenticates at, for the
// per-client request limits.
type Endpoint uint8

// Endpoints that authenticate clients.
const (
	EndpointNone Endpoint = iota
	EndpointToken
	EndpointIntrospection
	EndpointRevocation
)

// RequestLimits are per-client request rate limits of the endpoints that
// authenticate clients (RFC 7662 §4 asks it of introspection). They count
// only requests whose client authenticated, so guesses cannot use up a
// client's budget. A zero Limit is no limit.
type RequestLimits struct {
	Token, Introspection, Revocation Limit
}

func (r RequestLimits) of(e Endpoint) (Limit, string) {
	switch e {
	case EndpointToken:
		return r.Token, "token"
	case EndpointIntrospection:
		return r.Introspection, "introspect"
	case EndpointRevocation:
		return r.Revocation, "revoke"
	default:
		return Limit{}, ""
	}
}

// any reports whether some endpoint is limited.
func (r RequestLimits) any() bool {
	return r.Token.On() || r.Introspection.On() || r.Revocation.On()
}
