package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// DenyList remembers the jti of each revoked JWT access token (RFC 7009
// §2) under prefix + "deny:" + jti, a key that lives until the token
// expires.
type DenyList struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
}

var (
	_ application.DenyList   = (*DenyList)(nil)
	_ application.DenyLister = (*DenyList)(nil)
)

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

// scanBatch is the COUNT hint of each SCAN: how many keys Redis looks at
// per call, a balance between round trips and the time one call blocks
// the server.
const scanBatch = 500

// ListDenied implements application.DenyLister: every live entry as a
// revocation event, ordered by jti, with the expiry Redis counts down.
//
// It walks the keyspace with SCAN, which unlike KEYS does not block the
// server. A Redis Cluster keeps each key on the master of its slot, and
// SCAN sees one node's keys only, so every master is walked.
func (d *DenyList) ListDenied(ctx context.Context) ([]domain.Event, error) {
	var (
		mu     sync.Mutex
		events []domain.Event
	)
	collect := func(ctx context.Context, node redis.Cmdable) error {
		found, err := d.listOn(ctx, node)
		mu.Lock()
		defer mu.Unlock()
		events = append(events, found...)
		return err
	}
	var err error
	switch c := d.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return collect(ctx, node) })
	case *redis.Ring:
		err = c.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error { return collect(ctx, node) })
	default:
		err = collect(ctx, d.client)
	}
	if err != nil {
		return nil, fmt.Errorf("list denied jtis: %w", err)
	}
	slices.SortFunc(events, func(a, b domain.Event) int { return strings.Compare(a.JTI, b.JTI) })
	return events, nil
}

// listOn lists the entries one node holds.
func (d *DenyList) listOn(ctx context.Context, node redis.Cmdable) ([]domain.Event, error) {
	keyPrefix := d.key("")
	var (
		events []domain.Event
		cursor uint64
	)
	for {
		keys, next, err := node.Scan(ctx, cursor, globEscape(keyPrefix)+"*", scanBatch).Result()
		if err != nil {
			return events, err
		}
		if len(keys) > 0 {
			// One round trip for the TTLs of the batch; the keys are all
			// on this node, so the pipeline is too.
			pipe := node.Pipeline()
			ttls := make([]*redis.DurationCmd, len(keys))
			for i, k := range keys {
				ttls[i] = pipe.PTTL(ctx, k)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return events, err
			}
			now := d.now()
			for i, k := range keys {
				ttl := ttls[i].Val()
				// -2 (gone since SCAN saw it) and -1 (no expiry: not
				// written by Deny, which always sets one) are skipped.
				if ttl <= 0 {
					continue
				}
				events = append(events, domain.Event{
					Kind:      domain.EventRevoked,
					JTI:       strings.TrimPrefix(k, keyPrefix),
					ExpiresAt: now.Add(ttl),
				})
			}
		}
		if next == 0 {
			return events, nil
		}
		cursor = next
	}
}

// globEscape quotes the characters SCAN's MATCH pattern treats as glob
// syntax, so that a prefix holding one matches only itself.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
