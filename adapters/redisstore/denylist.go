package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/application"
)

// DenyList remembers the jti of each revoked JWT access token (RFC 7009
// §2) under prefix + "deny:" + jti, a key that lives until the token
// expires.
type DenyList struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
}

var _ application.DenyList = (*DenyList)(nil)

// NewDenyList returns a deny list that keeps its keys under prefix.
func NewDenyList(client redis.UniversalClient, prefix string) *DenyList {
	return &DenyList{client: client, prefix: prefix, now: time.Now}
}

func (d *DenyList) key(jti string) string { return d.prefix + "deny:" + jti }

// denyScript sets the key to live ARGV[1] milliseconds unless it already
// lives longer (or for ever, PTTL -1): reading the TTL and setting it in
// one script means two revocations racing cannot shorten a deny entry.
var denyScript = redis.NewScript(`
local ttl = redis.call('PTTL', KEYS[1])
local want = tonumber(ARGV[1])
if ttl == -2 or (ttl >= 0 and ttl < want) then
  redis.call('SET', KEYS[1], '1', 'PX', want)
  return 1
end
return 0
`)

// Deny implements application.DenyList. Denying a jti again keeps the
// longer of the two lives; an expiry already past records nothing.
func (d *DenyList) Deny(ctx context.Context, jti string, until time.Time) error {
	ttl := ttlUntil(d.now(), until)
	if ttl <= 0 {
		return nil
	}
	if err := denyScript.Run(ctx, d.client, []string{d.key(jti)}, ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("deny jti: %w", err)
	}
	return nil
}

// IsDenied implements application.DenyList.
func (d *DenyList) IsDenied(ctx context.Context, jti string) (bool, error) {
	n, err := d.client.Exists(ctx, d.key(jti)).Result()
	if err != nil {
		return false, fmt.Errorf("check denied jti: %w", err)
	}
	return n > 0, nil
}
