package josekit

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

const (
	// maxKeySetBytes bounds the key set document; a real one is a few KiB.
	maxKeySetBytes = 1 << 20
	// fetchTimeout bounds one fetch, whoever is waiting for it.
	fetchTimeout = 10 * time.Second
)

// RemoteKeySetOptions configure a RemoteKeySet.
type RemoteKeySetOptions struct {
	// MinRefreshInterval is the least time between two fetches, however
	// many unknown kids arrive: 10s if zero.
	MinRefreshInterval time.Duration
	// MaxAge is how long a fetched key set is used before it is refreshed
	// in the background: 5m if zero.
	MaxAge time.Duration
	// Clock defaults to the system clock.
	Clock application.Clock
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Reporter, when set, hears of each lookup of a kid made for a
	// watched request: the fetch it waited for, or the cache hit.
	Reporter application.UpstreamReporter
}

// RemoteKeySet is the client side of a published key set: the public
// keys of a JWK Set document (RFC 7517 §5) at a URL, fetched and cached
// by kid. It gives a resource server the authorization server's keys, and
// the authorization server a client's keys from its jwks_uri (see
// ClientAssertions). KeySetEncoder writes the document it reads.
//
// A known kid is answered from the cache; once the set is older than
// MaxAge it is refreshed in the background while the cached key keeps
// answering, even if the server is down. An unknown kid triggers a fetch,
// at most one per MinRefreshInterval and shared by every request waiting,
// so tokens with made-up kids cannot turn the resource server into a
// flood aimed at the authorization server.
type RemoteKeySet struct {
	url        string
	client     *http.Client
	minRefresh time.Duration
	maxAge     time.Duration
	clock      application.Clock
	log        *slog.Logger
	reporter   application.UpstreamReporter

	mu          sync.Mutex
	set         *keySet   // nil until a fetch succeeds
	fetchedAt   time.Time // of the last successful fetch
	attemptedAt time.Time // of the last fetch started
	lastErr     error     // of the last fetch; nil if it succeeded
	inflight    *keySetFetch
	// removed holds the kids Forget dropped. A key removed on the event
	// feed stays out of every later set, even one fetched from an
	// authorization server that has not reloaded its keys yet. Kids are
	// random and never reused, and only the feed adds to it, so it grows
	// by one per removal.
	removed map[string]bool

	// current is set, for TrustsKey to read without the lock on every
	// request a cached verification answers.
	current atomic.Pointer[keySet]
}

// keySet is a parsed JWK Set, never changed once built: a refresh
// replaces it whole.
type keySet struct {
	byKid map[string]remoteKey
	// all holds every usable key in document order, those without a kid
	// too: a client assertion may name none (RFC 7515 §4.1.4).
	all []remoteKey
}

type remoteKey struct {
	kid string
	pub crypto.PublicKey
	// alg is as published; empty if the JWK names none.
	alg domain.Algorithm
}

// algorithm is the key's algorithm, guessed from its type if unpublished.
func (k remoteKey) algorithm() domain.Algorithm {
	if k.alg != "" {
		return k.alg
	}
	return defaultAlgorithm(k.pub)
}

// accepts reports whether a JWS signed with alg may be checked with k: the
// published alg if there is one (RFC 7517 §4.4), else any algorithm that
// fits the key type, so an RSA key without alg serves RS256 and PS256.
func (k remoteKey) accepts(alg domain.Algorithm) bool {
	if k.alg != "" {
		return k.alg == alg
	}
	return fits(alg, k.pub)
}

// candidates are the keys that may check a JWS signed with alg.
func (s *keySet) candidates(alg domain.Algorithm) []remoteKey {
	var out []remoteKey
	for _, k := range s.all {
		if k.accepts(alg) {
			out = append(out, k)
		}
	}
	return out
}

// keySetFetch is one fetch in progress; done closes when it has finished and
// its outcome is in the RemoteKeySet, and call says how it went over the
// wire, for a reporter.
type keySetFetch struct {
	done chan struct{}
	call application.UpstreamCall
}

var (
	_ application.VerificationKeys = (*RemoteKeySet)(nil)
	_ application.KeyTrust         = (*RemoteKeySet)(nil)
)

// NewRemoteKeySet returns a key source reading the JWKS at url with client
// (a client with a 10s timeout if nil). Nothing is fetched until needed or
// Refresh is called.
func NewRemoteKeySet(url string, client *http.Client, opts RemoteKeySetOptions) *RemoteKeySet {
	if client == nil {
		client = &http.Client{Timeout: fetchTimeout}
	}
	r := &RemoteKeySet{
		url:        url,
		client:     client,
		minRefresh: opts.MinRefreshInterval,
		maxAge:     opts.MaxAge,
		clock:      opts.Clock,
		log:        opts.Logger,
		reporter:   opts.Reporter,
	}
	if r.minRefresh <= 0 {
		r.minRefresh = 10 * time.Second
	}
	if r.maxAge <= 0 {
		r.maxAge = 5 * time.Minute
	}
	if r.clock == nil {
		r.clock = application.SystemClock{}
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	return r
}

// VerificationKey returns the public key and algorithm for kid:
// domain.ErrNotFound if the authorization server does not publish it, an
// error matching domain.ErrTemporarilyUnavailable if it could not be asked.
func (r *RemoteKeySet) VerificationKey(ctx context.Context, kid string) (crypto.PublicKey, domain.Algorithm, error) {
	if kid == "" {
		return nil, "", domain.ErrNotFound // byKid holds no key without a kid
	}
	set, waited, err := r.keysForWaiting(ctx, func(s *keySet) bool {
		_, ok := s.byKid[kid]
		return ok
	})
	if r.reporter != nil && r.reporter.Watched(ctx) {
		r.report(ctx, kid, waited, err)
	}
	if err != nil {
		return nil, "", err
	}
	k := set.byKid[kid]
	return k.pub, k.algorithm(), nil
}

// keysFor returns the key set once need holds for it. A set that meets
// need is answered from the cache, refreshed in the background once older
// than MaxAge. One that does not triggers a fetch, at most one per
// MinRefreshInterval and shared by every caller waiting; if need still
// fails the error is domain.ErrNotFound, or matches
// domain.ErrTemporarilyUnavailable if the last fetch failed. need runs
// under the lock: it must be quick.
func (r *RemoteKeySet) keysFor(ctx context.Context, need func(*keySet) bool) (*keySet, error) {
	set, _, err := r.keysForWaiting(ctx, need)
	return set, err
}

// keysForWaiting is keysFor that also returns the fetch it waited for,
// nil if it waited for none.
func (r *RemoteKeySet) keysForWaiting(ctx context.Context, need func(*keySet) bool) (*keySet, *keySetFetch, error) {
	r.mu.Lock()
	now := r.clock.Now()
	if r.set != nil && need(r.set) {
		if now.Sub(r.fetchedAt) >= r.maxAge {
			r.startFetchLocked(now, false) // refresh behind the answer
		}
		set := r.set
		r.mu.Unlock()
		return set, nil, nil
	}
	f := r.startFetchLocked(now, false)
	if f == nil {
		err := r.missingLocked()
		r.mu.Unlock()
		return nil, nil, err
	}
	r.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, f, fmt.Errorf("wait for jwks: %w", ctx.Err())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.set != nil && need(r.set) {
		return r.set, f, nil
	}
	return nil, f, r.missingLocked()
}

// Refresh fetches the key set now, whatever the time since the last fetch,
// and waits for it: for warming the cache at start-up.
func (r *RemoteKeySet) Refresh(ctx context.Context) error {
	r.mu.Lock()
	f := r.startFetchLocked(r.clock.Now(), true)
	r.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return fmt.Errorf("wait for jwks: %w", ctx.Err())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastErr != nil {
		return r.unavailableLocked()
	}
	return nil
}

// missingLocked is the error for keys the cache does not hold.
func (r *RemoteKeySet) missingLocked() error {
	if r.lastErr != nil {
		return r.unavailableLocked()
	}
	return domain.ErrNotFound
}

func (r *RemoteKeySet) unavailableLocked() error {
	return fmt.Errorf("fetch jwks: %w: %w", domain.ErrTemporarilyUnavailable, r.lastErr)
}

// startFetchLocked joins the fetch in flight, or starts one if force is set
// or MinRefreshInterval has passed since the last; nil if neither.
func (r *RemoteKeySet) startFetchLocked(now time.Time, force bool) *keySetFetch {
	if r.inflight != nil {
		return r.inflight
	}
	if !force && !r.attemptedAt.IsZero() && now.Sub(r.attemptedAt) < r.minRefresh {
		return nil
	}
	f := &keySetFetch{done: make(chan struct{})}
	r.inflight = f
	r.attemptedAt = now
	go r.run(f)
	return f
}

// run fetches on its own context: a waiting request that gives up must
// not cancel the fetch the others share.
func (r *RemoteKeySet) run(f *keySetFetch) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	set, err := r.fetch(ctx, &f.call)
	cancel()

	r.mu.Lock()
	switch {
	case err == nil:
		if r.lastErr != nil {
			r.log.Info("jwks fetch recovered", "url", r.url, "keys", len(set.all))
		}
		r.setLocked(set.without(r.removed))
		r.fetchedAt, r.lastErr = r.clock.Now(), nil
	default:
		// Logged once per outage, not once per attempt; cached keys stay.
		if r.lastErr == nil {
			r.log.Warn("jwks fetch failed", "url", r.url, "err", err)
		}
		r.lastErr = err
	}
	r.inflight = nil
	r.mu.Unlock()
	close(f.done)
}

// fetch gets and parses the key set, and writes in call how the request
// and its answer went (the set is public: all of it can be shown).
func (r *RemoteKeySet) fetch(ctx context.Context, call *application.UpstreamCall) (_ *keySet, err error) {
	const accept = "application/jwk-set+json, application/json"
	*call = application.UpstreamCall{Kind: "jwks", Method: http.MethodGet, URL: r.url,
		RequestHeaders: map[string]string{"Accept": accept}, Started: time.Now()}
	defer func() {
		call.Duration = time.Since(call.Started)
		if err != nil {
			call.Error = err.Error()
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", accept)
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	call.Status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("jwks endpoint answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySetBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read jwks: %w", err)
	}
	if len(body) > maxKeySetBytes {
		return nil, fmt.Errorf("jwks document exceeds %d bytes", maxKeySetBytes)
	}
	call.ResponseBody = string(body)
	return parseKeySet(body, r.log)
}

// report tells the reporter how the key kid was looked up for ctx's
// request: by the fetch it waited for, or else in the cache, which held
// it unless err says otherwise (no fetch was allowed yet).
func (r *RemoteKeySet) report(ctx context.Context, kid string, waited *keySetFetch, err error) {
	call := application.UpstreamCall{Kind: "jwks", Cached: true, KeyID: kid, Method: http.MethodGet, URL: r.url, Started: time.Now()}
	if err != nil && waited == nil {
		call.Error = "kid not in the cached key set, and the last fetch was less than the minimum refresh interval ago"
	}
	if waited != nil {
		select {
		case <-waited.done: // call is written before done closes
			call = waited.call
			call.KeyID = kid
		default: // the caller gave up waiting: nothing to tell yet
			return
		}
	}
	r.reporter.Report(ctx, call)
}

// privateMembers are the JWK members that carry private or symmetric key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// parseKeySet keeps the keys a signature can be checked with: those with
// use "sig" or none (RFC 7517 §4.2) and an algorithm Sigil verifies that
// fits the key. Other keys are skipped, not fatal: a set may hold
// encryption keys or key types we do not know. Keys without a kid are kept
// in all only; of two keys with one kid, the first wins.
func parseKeySet(body []byte, log *slog.Logger) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Keys == nil {
		return nil, errors.New("jwks document is not a JWK set")
	}
	set := &keySet{byKid: make(map[string]remoteKey, len(doc.Keys))}
	for _, raw := range doc.Keys {
		k, reason := parseKey(raw)
		if reason != "" {
			log.Debug("jwks key skipped", "kid", k.kid, "reason", reason)
			continue
		}
		if k.kid != "" {
			if _, dup := set.byKid[k.kid]; dup {
				log.Debug("jwks key skipped", "kid", k.kid, "reason", "duplicate kid")
				continue
			}
			set.byKid[k.kid] = k
		}
		set.all = append(set.all, k)
	}
	return set, nil
}

// parseKey reads one JWK; reason says why it is unusable, with k.kid set
// for the log if it could be read.
func parseKey(raw json.RawMessage) (k remoteKey, reason string) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return remoteKey{}, "not a JSON object"
	}
	_ = json.Unmarshal(members["kid"], &k.kid)
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			// A published private or symmetric key is a leak; verifying
			// with it would trust tokens anyone could have made.
			return k, "carries private key material"
		}
	}
	var jwk jose.JSONWebKey
	// go-jose also refuses Ed25519 keys that are low-order points, which
	// would let one signature verify for many messages.
	if err := jwk.UnmarshalJSON(raw); err != nil || !jwk.Valid() || !jwk.IsPublic() {
		return k, "not a valid public key"
	}
	if jwk.Use != "" && jwk.Use != "sig" {
		return k, "not a signing key"
	}
	k.pub, k.alg = jwk.Key, domain.Algorithm(jwk.Algorithm)
	if !fits(k.algorithm(), k.pub) {
		return k, "unsupported algorithm or key"
	}
	return k, ""
}

// Forget drops the key kid from the cache and from every set fetched
// later, for a key the authorization server removed or revoked (reported
// on the event feed): tokens naming it are refused from now on, those
// whose verification was cached too (see TrustsKey), instead of after the
// next refresh. The first token naming a key this node does not know may
// then fetch the set at once, without waiting out MinRefreshInterval: a
// key revoked while it was signing has a successor that signs from now
// on. Only the feed calls Forget, so this opens no way to a flood.
func (r *RemoteKeySet) Forget(kid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.removed == nil {
		r.removed = map[string]bool{}
	}
	r.removed[kid] = true
	r.attemptedAt = time.Time{}
	if r.set == nil {
		return
	}
	if _, ok := r.set.byKid[kid]; !ok {
		return
	}
	r.setLocked(r.set.without(r.removed))
}

// TrustsKey implements application.KeyTrust: kid is in the key set as
// last fetched, and was not removed since. A refresh that no longer lists
// a kid, or Forget, ends the trust at once. It takes no lock.
func (r *RemoteKeySet) TrustsKey(kid string) bool {
	set := r.current.Load()
	if set == nil || kid == "" {
		return false
	}
	_, ok := set.byKid[kid]
	return ok
}

func (r *RemoteKeySet) setLocked(set *keySet) {
	r.set = set
	r.current.Store(set)
}

// without is s minus the keys whose kid is in removed: s itself when
// there are none, as sets are never changed in place (readers may hold
// them).
func (s *keySet) without(removed map[string]bool) *keySet {
	drop := false
	for kid := range s.byKid {
		if removed[kid] {
			drop = true
			break
		}
	}
	if !drop {
		return s
	}
	next := &keySet{byKid: make(map[string]remoteKey, len(s.byKid))}
	for id, k := range s.byKid {
		if !removed[id] {
			next.byKid[id] = k
		}
	}
	for _, k := range s.all {
		if k.kid == "" || !removed[k.kid] {
			next.all = append(next.all, k)
		}
	}
	return next
}
