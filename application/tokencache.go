package application

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// tokenCache remembers checked tokens by the SHA-256 of their value, never
// the value, each until a deadline, with a bound on the number of entries.
// It sits under AuthorizeBearer, which checks the revocation set on every
// request, so a revoked token is refused even while its check is cached.
type tokenCache struct {
	clock Clock
	max   int

	mu      sync.RWMutex
	entries map[[sha256.Size]byte]cachedToken
}

type cachedToken struct {
	token domain.Token
	until time.Time
}

func newTokenCache(clock Clock, max int) *tokenCache {
	return &tokenCache{clock: clock, max: max, entries: map[[sha256.Size]byte]cachedToken{}}
}

func (c *tokenCache) get(key [sha256.Size]byte, raw string) (domain.Token, bool) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || !c.clock.Now().Before(e.until) {
		return domain.Token{}, false
	}
	e.token.Value = raw
	return e.token, true
}

func (c *tokenCache) put(key [sha256.Size]byte, t domain.Token, until time.Time) {
	now := c.clock.Now()
	if !now.Before(until) {
		return
	}
	t.Value = ""
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		// Still full: drop arbitrary entries; they are only a shortcut.
		for k := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = cachedToken{token: t, until: until}
}

// CachedVerifier remembers JWTs that verified until they expire, so a
// client that presents the same token many times pays for one signature
// check. Failures are not remembered.
type CachedVerifier struct {
	inner AccessTokenVerifier
	cache *tokenCache
}

// NewCachedVerifier wraps inner, remembering at most max tokens.
func NewCachedVerifier(inner AccessTokenVerifier, clock Clock, max int) *CachedVerifier {
	return &CachedVerifier{inner: inner, cache: newTokenCache(clock, max)}
}

// VerifyAccessToken implements AccessTokenVerifier.
func (v *CachedVerifier) VerifyAccessToken(ctx context.Context, raw string) (domain.Token, error) {
	key := sha256.Sum256([]byte(raw))
	if t, ok := v.cache.get(key, raw); ok {
		return t, nil
	}
	t, err := v.inner.VerifyAccessToken(ctx, raw)
	if err != nil {
		return domain.Token{}, err
	}
	v.cache.put(key, t, t.ExpiresAt)
	return t, nil
}

// CachedIntrospector remembers active introspection answers for a short
// time that never outlives the token, sparing the authorization server a
// call per request. Inactive answers and failures are not remembered.
type CachedIntrospector struct {
	inner TokenIntrospector
	cache *tokenCache
	ttl   time.Duration
	clock Clock
}

// NewCachedIntrospector wraps inner, remembering at most max answers for
// at most ttl each.
func NewCachedIntrospector(inner TokenIntrospector, clock Clock, ttl time.Duration, max int) *CachedIntrospector {
	return &CachedIntrospector{inner: inner, cache: newTokenCache(clock, max), ttl: ttl, clock: clock}
}

// IntrospectToken implements TokenIntrospector.
func (i *CachedIntrospector) IntrospectToken(ctx context.Context, raw string) (domain.Token, error) {
	key := sha256.Sum256([]byte(raw))
	if t, ok := i.cache.get(key, raw); ok {
		return t, nil
	}
	t, err := i.inner.IntrospectToken(ctx, raw)
	if err != nil {
		return domain.Token{}, err
	}
	until := i.clock.Now().Add(i.ttl)
	if !t.ExpiresAt.IsZero() && t.ExpiresAt.Before(until) {
		until = t.ExpiresAt
	}
	i.cache.put(key, t, until)
	return t, nil
}

var (
	_ AccessTokenVerifier = (*CachedVerifier)(nil)
	_ TokenIntrospector   = (*CachedIntrospector)(nil)
)
