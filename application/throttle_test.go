package application_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// heldHasher is fakes.Hasher that can hold every verification until
// released, and counts how many ran and how many ran at once.
type heldHasher struct {
	fakes.Hasher
	verifies, running, peak atomic.Int64
	mu                      sync.Mutex
	gate                    chan struct{}
}

func (h *heldHasher) hold() {
	h.mu.Lock()
	h.gate = make(chan struct{})
	h.mu.Unlock()
}

func (h *heldHasher) release() {
	h.mu.Lock()
	if h.gate != nil {
		close(h.gate)
		h.gate = nil
	}
	h.mu.Unlock()
}

func (h *heldHasher) VerifySecret(hash, secret string) (bool, error) {
	h.verifies.Add(1)
	n := h.running.Add(1)
	defer h.running.Add(-1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			break
		}
	}
	h.mu.Lock()
	gate := h.gate
	h.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return h.Hasher.VerifySecret(hash, secret)
}

// defended is an AuthenticateClient with every defence on, over its own
// registry, fake clock and held hasher, with the client "svc" (secret
// "right") registered.
type defended struct {
	auth    *application.AuthenticateClient
	clients *fakes.Clients
	clock   *fakes.Clock
	hasher  *heldHasher
}

type defenceOptions struct {
	slots          int
	wait           time.Duration
	failures       int
	window         time.Duration
	limiter        application.RateLimiter // default: in process
	limits         application.RequestLimits
	credentialsTTL time.Duration // default a minute
	hold           time.Duration
	failurePercent int // default 100: failed hashes may take every slot's whole time
}

func newDefended(t *testing.T, o defenceOptions) *defended {
	t.Helper()
	d := &defended{clients: fakes.NewClients(), clock: fakes.NewClock(t0), hasher: &heldHasher{}}
	d.auth = newAuthWith(t, d.clients, d.hasher, d.clock, application.AssertionSupport{})
	if o.credentialsTTL == 0 {
		o.credentialsTTL = time.Minute
	}
	d.auth.RememberVerified(o.credentialsTTL, 100)
	if o.limiter == nil {
		o.limiter = application.NewLocalRateLimiter(d.clock, 1000)
	}
	if o.failurePercent == 0 {
		o.failurePercent = 100
	}
	d.auth.Defend(application.Defences{
		Slots:    application.NewHashSlots(o.slots, o.wait, o.failurePercent),
		Throttle: application.NewFailureThrottle(o.limiter, d.clock, o.failures, o.window),
		Limiter:  o.limiter,
		Limits:   o.limits,
		Hold:     o.hold,
	})
	saveWithSecrets(t, d.clients, "svc", secretOf(t, "a", "right", time.Time{}))
	d.hasher.verifies.Store(0)
	return d
}

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	addrC = netip.MustParseAddr("198.51.100.3")
)

func from(addr netip.Addr, id, secret string) application.ClientCredentials {
	c := basic(id, secret)
	c.Address = addr
	c.Endpoint = application.EndpointToken
	return c
}

// wantThrottled fails unless err is a throttle refusal for reason, and
// returns its retry-after.
func wantThrottled(t *testing.T, err error, reason domain.ThrottleReason) time.Duration {
	t.Helper()
	var th *domain.Throttled
	if !errors.As(err, &th) || th.Reason != reason {
		t.Fatalf("error = %v, want a throttle refusal (reason %d)", err, reason)
	}
	if th.RetryAfter <= 0 {
		t.Errorf("throttled with retry-after %s, want a positive wait", th.RetryAfter)
	}
	return th.RetryAfter
}

// inParallel runs each of creds at the same moment while the hasher is
// held, releases it after hold, and returns the errors in order.
func (d *defended) inParallel(t *testing.T, hold time.Duration, creds ...application.ClientCredentials) []error {
	t.Helper()
	d.hasher.hold()
	errs := make([]error, len(creds))
	var wg sync.WaitGroup
	for i, c := range creds {
		wg.Go(func() { _, errs[i] = d.auth.Handle(context.Background(), c) })
	}
	time.Sleep(hold)
	d.hasher.release()
	wg.Wait()
	return errs
}

func TestNoMoreSlowHashesRunAtOnceThanThereAreSlots(t *testing.T) {
	d := newDefended(t, defenceOptions{slots: 2, wait: 20 * time.Millisecond})
	var creds []application.ClientCredentials
	for i := range 6 {
		creds = append(creds, from(addrA, "svc", fmt.Sprint("guess-", i)))
	}
	// Unknown clients pay the dummy hash in the same slots.
	creds = append(creds, from(addrA, "nobody", "guess"), from(addrA, "nobody-else", "guess"))
	var busy, refused int
	for _, err := range d.inParallel(t, 200*time.Millisecond, creds...) {
		var th *domain.Throttled
		switch {
		case errors.As(err, &th) && th.Reason == domain.ThrottledBusy:
			busy++
			if th.RetryAfter < time.Second {
				t.Errorf("busy with retry-after %s, want at least a second", th.RetryAfter)
			}
		case errors.Is(err, domain.ErrInvalidClient):
			refused++
		default:
			t.Errorf("error %v, want invalid_client or busy", err)
		}
	}
	if p := d.hasher.peak.Load(); p != 2 {
		t.Errorf("%d slow hashes ran at once, want the 2 slots' worth", p)
	}
	if refused != 2 || busy != 6 {
		t.Errorf("%d ran and were refused, %d found no slot; want 2 and 6", refused, busy)
	}
	// Slots free up again.
	if _, err := d.auth.Handle(t.Context(), from(addrA, "svc", "right")); err != nil {
		t.Errorf("after the flood the right secret was refused: %v", err)
	}
}

func TestAFewFailuresInARowAreHashedWithoutARest(t *testing.T) {
	// One slot, no wait: a resting slot would answer busy at once.
	d := newDefended(t, defenceOptions{slots: 1, failurePercent: 20})
	for i := range 5 {
		if _, err := d.auth.Handle(t.Context(), from(addrA, "svc", fmt.Sprint("old-secret-", i))); !errors.Is(err, domain.ErrInvalidClient) {
			t.Fatalf("failure %d in a row: %v, want it hashed and refused", i+1, err)
		}
	}
	if _, err := d.auth.Handle(t.Context(), from(addrA, "svc", "right")); err != nil {
		t.Fatalf("the right secret after a few failures: %v", err)
	}
}

func TestAVerifiedClientIsServedWhileTheSlotsAreTakenAndItsIDIsThrottled(t *testing.T) {
	d := newDefended(t, defenceOptions{slots: 1, wait: 10 * time.Millisecond, failures: 3, window: time.Minute})
	if _, err := d.auth.Handle(t.Context(), from(addrA, "svc", "right")); err != nil {
		t.Fatal(err)
	}
	// Use up the id's count from elsewhere.
	for i := range 3 {
		_, _ = d.auth.Handle(t.Context(), from(addrB, "svc", fmt.Sprint("guess-", i)))
	}
	_, err := d.auth.Handle(t.Context(), from(addrC, "svc", "guess-x"))
	wantThrottled(t, err, domain.ThrottledFailures)

	// And hold the only slot with a guess for an unknown client.
	d.hasher.hold()
	held := make(chan error)
	go func() {
		_, err := d.auth.Handle(context.Background(), from(netip.MustParseAddr("203.0.113.5"), "nobody", "guess"))
		held <- err
	}()
	for d.hasher.running.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	before := d.hasher.verifies.Load()
	for _, addr := range []netip.Addr{addrA, addrB, addrC} {
		if c, err := d.auth.Handle(t.Context(), from(addr, "svc", "right")); err != nil || c.ID != "svc" {
			t.Errorf("verified client from %s: %v; want it served from the cache", addr, err)
		}
	}
	if n := d.hasher.verifies.Load() - before; n != 0 {
		t.Errorf("the verified client cost %d slow hashes, want none", n)
	}
	d.hasher.release()
	if err := <-held; !errors.Is(err, domain.ErrInvalidClient) {
		t.Errorf("held guess: %v", err)
	}
}

func TestFailuresAreThrottledPerIDPerAddressAndWithoutTheHash(t *testing.T) {
	d := newDefended(t, defenceOptions{slots: 4, failures: 3, window: time.Minute})
	saveWithSecrets(t, d.clients, "other", secretOf(t, "a", "other-secret", time.Time{}))
	for i := range 3 {
		_, err := d.auth.Handle(t.Context(), from(addrA, "svc", fmt.Sprint("guess-", i)))
		wantOAuthError(t, err, domain.ErrInvalidClient)
	}
	before := d.hasher.verifies.Load()
	tests := []struct {
		name string
		in   application.ClientCredentials
	}{
		{"the same id and address", from(addrA, "svc", "guess-3")},
		{"the right secret, not yet cached", from(addrA, "svc", "right")},
		{"another id from the address", from(addrA, "other", "other-secret")},
		{"an unknown id from the address", from(addrA, "nobody", "guess")},
		{"the id from another address", from(addrB, "svc", "guess-4")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.auth.Handle(t.Context(), tt.in)
			if after := wantThrottled(t, err, domain.ThrottledFailures); after > 20*time.Second {
				t.Errorf("retry-after %s, want the 20s one failure of 3 a minute takes to refill", after)
			}
		})
	}
	if n := d.hasher.verifies.Load() - before; n != 0 {
		t.Errorf("throttled attempts ran %d slow hashes, want none", n)
	}
	// Elsewhere, other clients go on.
	if _, err := d.auth.Handle(t.Context(), from(addrB, "other", "other-secret")); err != nil {
		t.Errorf("another client from another address: %v", err)
	}
	// Once the count has room, the client gets in.
	d.clock.Advance(20 * time.Second)
	if _, err := d.auth.Handle(t.Context(), from(addrA, "svc", "right")); err != nil {
		t.Errorf("after the retry-after: %v", err)
	}
}

func TestTheBackoffGrowsWhileFailuresGoOn(t *testing.T) {
	d := newDefended(t, defenceOptions{slots: 1, failures: 2, window: time.Minute})
	var waits []time.Duration
	for guess := 0; len(waits) < 12; guess++ {
		_, err := d.auth.Handle(t.Context(), from(addrA, "svc", fmt.Sprint("guess-", guess)))
		var th *domain.Throttled
		if errors.As(err, &th) {
			waits = append(waits, th.RetryAfter)
			d.clock.Advance(th.RetryAfter)
		}
	}
	// 2 a minute (one every 30s), then 6 an hour (one every 10m), then
	// 20 a day (one every 72m).
	t.Logf("waits: %v", waits)
	first, last := waits[0], waits[len(waits)-1]
	if first > 30*time.Second {
		t.Errorf("first wait %s, want at most 30s", first)
	}
	if last < 10*time.Minute {
		t.Errorf("waits %v: the last is %s, want it grown to at least 10 minutes", waits, last)
	}
	// The counts refill once failures stop.
	d.clock.Advance(48 * time.Hour)
	if _, err := d.auth.Handle(t.Context(), from(addrA, "svc", "right")); err != nil {
		t.Errorf("two days after the last failure: %v", err)
	}
}

func TestAFloodForAnIDDoesNotLockOutItsClientAtAnAddressItUsedBefore(t *testing.T) {
	d := newDefended(t, defenceOptions{slots: 2, failures: 3, window: time.Minute, credentialsTTL: time.Minute})
	if _, err := d.auth.Handle(t.Context(), from(addrA, "svc", "right")); err != nil {
		t.Fatal(err)
	}
	// The cached credentials expire; meanwhile svc's id is flooded.
	d.clock.Advance(2 * time.Minute)
	for i := range 5 {
		_, _ = d.auth.Handle(t.Context(), from(addrB, "svc", fmt.Sprint("guess-", i)))
	}
	_, err := d.auth.Handle(t.Context(), from(addrC, "svc", "right"))
	wantThrottled(t, err, domain.ThrottledFailures)

	if c, err := d.auth.Handle(t.Context(), from(addrA, "svc", "right")); err != nil || c.ID != "svc" {
		t.Errorf("svc from the address it authenticated from before: %v, want it let through to the hash", err)
	}
}

func TestManyClientsBehindOneAddressAreNotThrottledForSucceeding(t *testing.T) {
	d := newDefended(t, defenceOptions{slots: 2, failures: 3, window: time.Minute})
	for i := range 20 {
		id := fmt.Sprint("svc-", i)
		saveWithSecrets(t, d.clients, id, secretOf(t, "a", "secret-"+id, time.Time{}))
		if _, err := d.auth.Handle(t.Context(), from(addrA, id, "secret-"+id)); err != nil {
			t.Fatalf("client %d of 20 behind one address: %v", i+1, err)
		}
	}
}

func TestRequestLimitsCountOnlyAuthenticatedRequests(t *testing.T) {
	d := newDefended(t, defenceOptions{slots: 2, limits: application.RequestLimits{
		Token: application.Limit{Rate: 2, Burst: 2, Period: time.Minute},
	}})
	saveWithSecrets(t, d.clients, "other", secretOf(t, "a", "other-secret", time.Time{}))
	// Guesses do not use up svc's budget.
	for i := range 5 {
		_, _ = d.auth.Handle(t.Context(), from(addrB, "svc", fmt.Sprint("guess-", i)))
	}
	for range 2 {
		if _, err := d.auth.Handle(t.Context(), from(addrA, "svc", "right")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := d.auth.Handle(t.Context(), from(addrA, "svc", "right"))
	if after := wantThrottled(t, err, domain.ThrottledRate); after > 30*time.Second {
		t.Errorf("retry-after %s, want at most 30s", after)
	}
	if _, err := d.auth.Handle(t.Context(), from(addrA, "other", "other-secret")); err != nil {
		t.Errorf("another client was limited for svc's requests: %v", err)
	}
	// Introspection has no limit here.
	in := from(addrA, "svc", "right")
	in.Endpoint = application.EndpointIntrospection
	if _, err := d.auth.Handle(t.Context(), in); err != nil {
		t.Errorf("introspection was limited by the token endpoint's limit: %v", err)
	}
}

func TestALimiterThatFailsRefusesNoClient(t *testing.T) {
	d := newDefended(t, defenceOptions{slots: 2, failures: 2, window: time.Minute, limiter: &fakes.BrokenLimiter{},
		limits: application.RequestLimits{Token: application.Limit{Rate: 1, Burst: 1, Period: time.Hour}}})
	for i := range 5 {
		_, err := d.auth.Handle(t.Context(), from(addrA, "svc", fmt.Sprint("guess-", i)))
		wantOAuthError(t, err, domain.ErrInvalidClient)
	}
	for range 3 {
		if _, err := d.auth.Handle(t.Context(), from(addrA, "svc", "right")); err != nil {
			t.Errorf("with the limiter down: %v, want the client served", err)
		}
	}
}

func TestWhileTheSharedLimiterFailsEachNodeCountsOnItsOwn(t *testing.T) {
	broken := &fakes.BrokenLimiter{}
	clock := fakes.NewClock(t0)
	var reported atomic.Int64
	limiter := application.NewFallbackLimiter(broken, application.NewLocalRateLimiter(clock, 100), clock,
		func(error) { reported.Add(1) })
	d := newDefended(t, defenceOptions{slots: 2, failures: 2, window: time.Minute, limiter: limiter})
	for i := range 2 {
		_, _ = d.auth.Handle(t.Context(), from(addrA, "svc", fmt.Sprint("guess-", i)))
	}
	_, err := d.auth.Handle(t.Context(), from(addrA, "svc", "guess-2"))
	wantThrottled(t, err, domain.ThrottledFailures)
	// The shared limiter was asked once and then left alone for a while,
	// so an outage adds no timeout to every count.
	if n := broken.Calls.Load(); n != 1 || reported.Load() != 1 {
		t.Errorf("broken shared limiter asked %d times, %d failures reported; want 1, 1", n, reported.Load())
	}
}

func TestARefusalIsHeldBeforeItIsAnswered(t *testing.T) {
	const hold = 50 * time.Millisecond
	d := newDefended(t, defenceOptions{slots: 1, failures: 1, window: time.Minute, hold: hold})
	_, _ = d.auth.Handle(t.Context(), from(addrA, "svc", "guess"))
	start := time.Now()
	_, err := d.auth.Handle(t.Context(), from(addrA, "svc", "guess-2"))
	held := time.Since(start)
	// One failure a minute: a minute to wait, less what the hold took.
	if after := wantThrottled(t, err, domain.ThrottledFailures); after != time.Minute-hold {
		t.Errorf("retry-after %s after the hold, want %s", after, time.Minute-hold)
	}
	if held < hold {
		t.Errorf("refusal answered after %s, want it held %s", held, hold)
	}
}

// sharedKnown is an in-memory application.KnownAddresses standing for the
// Redis one that every node and every restart shares.
type sharedKnown struct {
	mu   sync.Mutex
	keys map[string]bool
}

func (k *sharedKnown) Remember(_ context.Context, key string, _ time.Duration) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[key] = true
	return nil
}

func (k *sharedKnown) Known(_ context.Context, key string) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys[key], nil
}

func TestAnAddressAClientUsedIsStillKnownAfterARestart(t *testing.T) {
	known := &sharedKnown{keys: map[string]bool{}}
	counts := application.NewLocalRateLimiter(fakes.NewClock(t0), 1000) // Redis's counts outlive the node
	node := func() *defended {
		d := newDefended(t, defenceOptions{slots: 2, failures: 3, window: time.Minute, limiter: counts})
		d.auth.Defend(application.Defences{
			Slots:    application.NewHashSlots(2, 0, 100),
			Throttle: sharedThrottle(counts, d.clock, known),
		})
		return d
	}
	before := node()
	if _, err := before.auth.Handle(t.Context(), from(addrA, "svc", "right")); err != nil {
		t.Fatal(err)
	}
	// A new node (or the same after a restart): empty caches, while svc's
	// id is flooded from elsewhere.
	after := node()
	for i := range 5 {
		_, _ = after.auth.Handle(t.Context(), from(addrB, "svc", fmt.Sprint("guess-", i)))
	}
	_, err := after.auth.Handle(t.Context(), from(addrC, "svc", "right"))
	wantThrottled(t, err, domain.ThrottledFailures)
	if _, err := after.auth.Handle(t.Context(), from(addrA, "svc", "right")); err != nil {
		t.Errorf("svc from its known address after a restart: %v, want it let through", err)
	}
}

func sharedThrottle(l application.RateLimiter, clock application.Clock, known application.KnownAddresses) *application.FailureThrottle {
	th := application.NewFailureThrottle(l, clock, 3, time.Minute)
	th.ShareKnownAddresses(known)
	return th
}
