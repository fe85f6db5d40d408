package application

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// tokenCache remembers checked tokens by the SHA-256 of their value, never
// the value, each until a deadline, with a bound on the number of entries.
// It sits under AuthorizeBearer, which checks the revocation set on every
// request, so a revoked token is refused even while its check is cached.
type tokenCache struct {
	clock   Clock
	entries *BoundedCache[[sha256.Size]byte, domain.Token]
}

func newTokenCache(clock Clock, max int) *tokenCache {
	return &tokenCache{clock: clock, entries: NewBoundedCache[[sha256.Size]byte, domain.Token](max)}
}

func (c *tokenCache) get(key [sha256.Size]byte, raw string) (domain.Token, bool) {
	t, ok := c.entries.Get(key, c.clock.Now())
	t.Value = raw
	return t, ok
}

func (c *tokenCache) put(key [sha256.Size]byte, t domain.Token, until time.Time) {
	t.Value = ""
	c.entries.Put(key, t, until, c.clock.Now())
}

// CachedVerifier remembers JWTs that verified until they expire, so a
// client that presents the same token many times pays for one signature
// check. Failures are not remembered.
//
// An entry is only as good as the key that signed the token: each answer
// from the cache first asks keys whether that key is still trusted, so a
// key the authorization server removed (reported on the event feed, or
// missing from a refreshed JWKS) makes every token it signed fail on the
// next request, cached or not. That check is one lock-free map lookup.
type CachedVerifier struct {
	inner AccessTokenVerifier
	keys  KeyTrust
	cache *tokenCache
}

// NewCachedVerifier wraps inner, remembering at most max tokens, each for
// as long as keys trusts the key that signed it.
func NewCachedVerifier(inner AccessTokenVerifier, keys KeyTrust, clock Clock, max int) *CachedVerifier {
	return &CachedVerifier{inner: inner, keys: keys, cache: newTokenCache(clock, max)}
}

// VerifyAccessToken implements AccessTokenVerifier.
func (v *CachedVerifier) VerifyAccessToken(ctx context.Context, raw string) (domain.Token, error) {
	key := sha256.Sum256([]byte(raw))
	if t, ok := v.cache.get(key, raw); ok {
		if v.keys.TrustsKey(t.KeyID) {
			return t, nil
		}
		// The key left the JWKS after the token was checked: whatever it
		// signed is refused from now on, and the entry is of no more use.
		v.cache.entries.Delete(key)
		return domain.Token{}, domain.ErrInvalidToken.With("the token's signing key was removed")
	}
	t, err := v.inner.VerifyAccessToken(ctx, raw)
	if err != nil {
		return domain.Token{}, err
	}
	// A token without a kid could not be matched to a removal: it is
	// checked every time (Sigil's verifier never accepts one anyway).
	if t.KeyID != "" {
		v.cache.put(key, t, t.ExpiresAt)
	}
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

// CacheStats counts the tokens found verified in the cache.
func (v *CachedVerifier) CacheStats() CacheStats { return v.cache.entries.Stats() }

// CacheStats counts the tokens whose introspection answer was reused.
func (i *CachedIntrospector) CacheStats() CacheStats { return i.cache.entries.Stats() }
