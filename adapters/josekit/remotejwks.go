package josekit

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

const (
	// maxJWKSBytes bounds the key set document; a real one is a few KiB.
	maxJWKSBytes = 1 << 20
	// fetchTimeout bounds one fetch, whoever is waiting for it.
	fetchTimeout = 10 * time.Second
)

// RemoteJWKSOptions configure a RemoteJWKS.
type RemoteJWKSOptions struct {
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
}

// RemoteJWKS gives a resource server the authorization server's public
// keys, fetched from its JWKS URL and cached by kid.
//
// A known kid is answered from the cache; once the set is older than
// MaxAge it is refreshed in the background while the cached key keeps
// answering, even if the server is down. An unknown kid triggers a fetch,
// at most one per MinRefreshInterval and shared by every request waiting,
// so tokens with made-up kids cannot turn the resource server into a
// flood aimed at the authorization server.
type RemoteJWKS struct {
	url        string
	client     *http.Client
	minRefresh time.Duration
	maxAge     time.Duration
	clock      application.Clock
	log        *slog.Logger

	mu          sync.Mutex
	keys        map[string]remoteKey
	fetchedAt   time.Time // of the last successful fetch
	attemptedAt time.Time // of the last fetch started
	lastErr     error     // of the last fetch; nil if it succeeded
	inflight    *jwksFetch
}

type remoteKey struct {
	pub crypto.PublicKey
	alg domain.Algorithm
}

// jwksFetch is one fetch in progress; done closes when it has finished and
// its outcome is in the RemoteJWKS.
type jwksFetch struct{ done chan struct{} }

var _ application.VerificationKeys = (*RemoteJWKS)(nil)

// NewRemoteJWKS returns a key source reading the JWKS at url with client
// (a client with a 10s timeout if nil). Nothing is fetched until needed or
// Refresh is called.
func NewRemoteJWKS(url string, client *http.Client, opts RemoteJWKSOptions) *RemoteJWKS {
	if client == nil {
		client = &http.Client{Timeout: fetchTimeout}
	}
	r := &RemoteJWKS{
		url:        url,
		client:     client,
		minRefresh: opts.MinRefreshInterval,
		maxAge:     opts.MaxAge,
		clock:      opts.Clock,
		log:        opts.Logger,
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
func (r *RemoteJWKS) VerificationKey(ctx context.Context, kid string) (crypto.PublicKey, domain.Algorithm, error) {
	if kid == "" {
		return nil, "", domain.ErrNotFound // parse keeps no key without a kid
	}
	r.mu.Lock()
	now := r.clock.Now()
	if k, ok := r.keys[kid]; ok {
		if now.Sub(r.fetchedAt) >= r.maxAge {
			r.startFetchLocked(now, false) // refresh behind the answer
		}
		r.mu.Unlock()
		return k.pub, k.alg, nil
	}
	f := r.startFetchLocked(now, false)
	if f == nil {
		err := r.missingLocked()
		r.mu.Unlock()
		return nil, "", err
	}
	r.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, "", fmt.Errorf("wait for jwks: %w", ctx.Err())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.keys[kid]; ok {
		return k.pub, k.alg, nil
	}
	return nil, "", r.missingLocked()
}

// Refresh fetches the key set now, whatever the time since the last fetch,
// and waits for it: for warming the cache at start-up.
func (r *RemoteJWKS) Refresh(ctx context.Context) error {
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

// missingLocked is the error for a kid the cache does not hold.
func (r *RemoteJWKS) missingLocked() error {
	if r.lastErr != nil {
		return r.unavailableLocked()
	}
	return domain.ErrNotFound
}

func (r *RemoteJWKS) unavailableLocked() error {
	return fmt.Errorf("fetch jwks: %w: %w", domain.ErrTemporarilyUnavailable, r.lastErr)
}

// startFetchLocked joins the fetch in flight, or starts one if force is set
// or MinRefreshInterval has passed since the last; nil if neither.
func (r *RemoteJWKS) startFetchLocked(now time.Time, force bool) *jwksFetch {
	if r.inflight != nil {
		return r.inflight
	}
	if !force && !r.attemptedAt.IsZero() && now.Sub(r.attemptedAt) < r.minRefresh {
		return nil
	}
	f := &jwksFetch{done: make(chan struct{})}
	r.inflight = f
	r.attemptedAt = now
	go r.run(f)
	return f
}

// run fetches on its own context: a waiting request that gives up must
// not cancel the fetch the others share.
func (r *RemoteJWKS) run(f *jwksFetch) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	keys, err := r.fetch(ctx)
	cancel()

	r.mu.Lock()
	switch {
	case err == nil:
		if r.lastErr != nil {
			r.log.Info("jwks fetch recovered", "url", r.url, "keys", len(keys))
		}
		r.keys, r.fetchedAt, r.lastErr = keys, r.clock.Now(), nil
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

func (r *RemoteJWKS) fetch(ctx context.Context) (map[string]remoteKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("jwks endpoint answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read jwks: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("jwks document exceeds %d bytes", maxJWKSBytes)
	}
	return r.parse(body)
}

// privateMembers are the JWK members that carry private or symmetric key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// parse keeps the keys a token can be verified with: those with a kid,
// use "sig" or none (RFC 7517 §4.2), and an algorithm Sigil verifies that
// fits the key. Other keys are skipped, not fatal: a set may hold
// encryption keys or key types we do not know.
func (r *RemoteJWKS) parse(body []byte) (map[string]remoteKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Keys == nil {
		return nil, errors.New("jwks document is not a JWK set")
	}
	keys := make(map[string]remoteKey, len(doc.Keys))
	for _, raw := range doc.Keys {
		kid, k, reason := parseKey(raw)
		if reason != "" {
			r.log.Debug("jwks key skipped", "kid", kid, "reason", reason)
			continue
		}
		if _, dup := keys[kid]; dup {
			r.log.Debug("jwks key skipped", "kid", kid, "reason", "duplicate kid")
			continue
		}
		keys[kid] = k
	}
	return keys, nil
}

func parseKey(raw json.RawMessage) (kid string, k remoteKey, reason string) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return "", remoteKey{}, "not a JSON object"
	}
	_ = json.Unmarshal(members["kid"], &kid)
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			// A published private or symmetric key is a leak; verifying
			// with it would trust tokens anyone could have made.
			return kid, remoteKey{}, "carries private key material"
		}
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil || !jwk.Valid() || !jwk.IsPublic() {
		return kid, remoteKey{}, "not a valid public key"
	}
	if jwk.KeyID == "" {
		return "", remoteKey{}, "no kid"
	}
	if jwk.Use != "" && jwk.Use != "sig" {
		return kid, remoteKey{}, "not a signing key"
	}
	alg := domain.Algorithm(jwk.Algorithm)
	if alg == "" {
		alg = defaultAlgorithm(jwk.Key)
	}
	if !fits(alg, jwk.Key) {
		return kid, remoteKey{}, "unsupported algorithm or key"
	}
	return kid, remoteKey{pub: jwk.Key, alg: alg}, ""
}

// defaultAlgorithm guesses the algorithm of a key published without alg
// (RFC 7517 §4.4 makes it optional; Spring Authorization Server omits it):
// RS256 for RSA, the curve's ES algorithm for EC.
func defaultAlgorithm(pub crypto.PublicKey) domain.Algorithm {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return domain.RS256
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256"
		case elliptic.P384():
			return "ES384"
		case elliptic.P521():
			return "ES512"
		}
	}
	return ""
}
