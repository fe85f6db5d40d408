// Package redisstore keeps opaque access tokens, the deny list of revoked
// tokens and the ids of used client assertions in Redis, where they expire
// by themselves, and carries events between nodes over Pub/Sub (Feed).
// Redis types stay inside it.
//
// Every command or script touches one key, so the stores work unchanged
// against a Redis Cluster: none spans two hash slots. Listing the deny
// list walks every master; the feed's classic Pub/Sub reaches the whole
// cluster.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/adapters/internal/storekey"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Tokens keeps opaque access tokens under prefix + "token:" + the hex
// SHA-256 of the token value. The value itself is never sent to Redis, so
// a dump of the keyspace cannot be replayed as bearer tokens. Each key
// lives until its token expires; Redis removes it then.
type Tokens struct {
	client redis.UniversalClient
	batch  *batcher
	prefix string
	// now is the time TTLs are counted from; Redis counts them down by
	// its own clock, so only the length matters.
	now func() time.Time
}

var _ application.TokenStore = (*Tokens)(nil)

// NewTokens returns a store that keeps its keys under prefix (for example
// "sigil:"), so that Sigil can share a Redis with others.
func NewTokens(client redis.UniversalClient, prefix string) *Tokens {
	return &Tokens{client: client, batch: newBatcher(client), prefix: prefix, now: time.Now}
}

func (s *Tokens) key(value string) string {
	return s.prefix + "token:" + storekey.Hash(value)
}

// tokenWire is what a key holds: the token without its value. SaveToken
// writes it in the binary form of tokenwire.go; the JSON tags read the
// values that Sigil wrote before that form, which stay in Redis until
// their tokens expire.
type tokenWire struct {
	ID        string    `json:"jti,omitempty"`
	Format    string    `json:"fmt"`
	Issuer    string    `json:"iss,omitempty"`
	Subject   string    `json:"sub,omitempty"`
	ClientID  string    `json:"cid,omitempty"`
	Scopes    []string  `json:"scp,omitempty"`
	Audience  []string  `json:"aud,omitempty"`
	IssuedAt  time.Time `json:"iat,omitzero"`
	NotBefore time.Time `json:"nbf,omitzero"`
	ExpiresAt time.Time `json:"exp"`
	// JKT is the DPoP key's thumbprint (only in the binary form's
	// version 2; JSON values predate DPoP).
	JKT string `json:"-"`
	// X5T is the certificate's thumbprint (only in version 3).
	X5T string `json:"-"`
	// Act is the act claim of an exchanged token as JSON, Parent the jti
	// it was exchanged from (only in version 4).
	Act    string `json:"-"`
	Parent string `json:"-"`
}

func toWire(t domain.Token) tokenWire {
	return tokenWire{
		ID:        t.ID,
		Format:    string(t.Format),
		Issuer:    t.Issuer,
		Subject:   t.Subject,
		ClientID:  t.ClientID,
		Scopes:    t.Scopes,
		Audience:  t.Audience,
		IssuedAt:  t.IssuedAt,
		NotBefore: t.NotBefore,
		ExpiresAt: t.ExpiresAt,
		JKT:       t.JKT,
		X5T:       t.X5T,
		Act:       actJSON(t.Actor),
		Parent:    t.Parent,
	}
}

// actJSON is the act claim as JSON, "" for none.
func actJSON(a *domain.Actor) string {
	if a == nil {
		return ""
	}
	b, err := json.Marshal(claims.NewActor(a))
	if err != nil {
		// Strings and pointers only: Marshal cannot fail on them.
		panic("redisstore: marshal act: " + err.Error())
	}
	return string(b)
}

// actor reads what actJSON wrote.
func actor(s string) (*domain.Actor, error) {
	if s == "" {
		return nil, nil
	}
	var a *claims.Actor
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return nil, err
	}
	return a.ToDomain()
}

func (w tokenWire) toDomain(value string) domain.Token {
	return domain.Token{
		Value:     value,
		Format:    domain.TokenFormat(w.Format),
		ID:        w.ID,
		Issuer:    w.Issuer,
		Subject:   w.Subject,
		ClientID:  w.ClientID,
		Scopes:    scopesOf(w.Scopes),
		Audience:  w.Audience,
		IssuedAt:  w.IssuedAt,
		NotBefore: w.NotBefore,
		ExpiresAt: w.ExpiresAt,
		JKT:       w.JKT,
		X5T:       w.X5T,
		Parent:    w.Parent,
	}
}

// scopesOf returns list as Scopes, normalising it only when it is not
// already sorted and free of duplicates. The stored lists were saved from
// Scopes and so are normalised; using them as they are spares the copy
// domain.NewScopes makes on every read, while a list that is not (a value
// written by hand, or by a bug) is still fixed, since Scopes.Contains
// relies on the order.
func scopesOf(list []string) domain.Scopes {
	if len(list) == 0 {
		return nil
	}
	for i := 1; i < len(list); i++ {
		if list[i-1] >= list[i] {
			return domain.NewScopes(list...)
		}
	}
	return domain.Scopes(list)
}

// Close stops the store's pipeline: commands sent after it fail, those
// already queued are sent, and it returns once they are answered, or once
// ctx ends, failing what is left. Close it before its client.
func (s *Tokens) Close(ctx context.Context) error { return s.batch.close(ctx) }

// SaveToken implements application.TokenStore. Saving a value again
// replaces what was stored for it. A token already expired is not kept:
// any earlier save of the same value is removed instead.
func (s *Tokens) SaveToken(ctx context.Context, t domain.Token) error {
	if t.ExpiresAt.IsZero() {
		// Without an expiry the key would never leave Redis.
		return errors.New("save token: token has no expiry")
	}
	key := s.key(t.Value)
	ttl := ttlUntil(s.now(), t.ExpiresAt)
	if ttl <= 0 {
		if err := s.client.Del(ctx, key).Err(); err != nil {
			return fmt.Errorf("save token: %w", err)
		}
		return nil
	}
	b := encodeToken(toWire(t))
	// The TTL is rounded up to the millisecond: FindToken checks the
	// exact expiry.
	set := redis.NewStatusCmd(ctx, "set", key, b, "px", ttl.Milliseconds())
	if err := s.batch.do(ctx, set); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	return nil
}

// FindToken implements application.TokenStore.
func (s *Tokens) FindToken(ctx context.Context, value string) (domain.Token, error) {
	get := redis.NewStringCmd(ctx, "get", s.key(value))
	err := s.batch.do(ctx, get)
	if errors.Is(err, redis.Nil) {
		return domain.Token{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.Token{}, fmt.Errorf("find token: %w", err)
	}
	w, err := decodeStoredToken(get.Val())
	if err != nil {
		return domain.Token{}, fmt.Errorf("find token: decode: %w", err)
	}
	// The key may outlive its token by the rounding above.
	if !s.now().Before(w.ExpiresAt) {
		return domain.Token{}, domain.ErrNotFound
	}
	t := w.toDomain(value)
	if t.Actor, err = actor(w.Act); err != nil {
		return domain.Token{}, fmt.Errorf("find token: decode act: %w", err)
	}
	return t, nil
}

// decodeStoredToken reads a key's value in either form it may hold: a JSON
// object, as Sigil saved tokens before the binary form (see tokenwire.go),
// or the binary form, whose version byte can never be '{'.
func decodeStoredToken(v string) (tokenWire, error) {
	if strings.HasPrefix(v, "{") {
		var w tokenWire
		err := json.Unmarshal([]byte(v), &w)
		return w, err
	}
	return decodeToken(v)
}

// DeleteToken implements application.TokenStore.
func (s *Tokens) DeleteToken(ctx context.Context, value string) error {
	if err := s.client.Del(ctx, s.key(value)).Err(); err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}

// ttlUntil is how long a key must live to last until until, counted from
// now, rounded up to Redis's millisecond: a zero TTL would mean none at
// all. It is zero or less when until has passed.
func ttlUntil(now, until time.Time) time.Duration {
	ttl := until.Sub(now)
	if ttl <= 0 {
		return ttl
	}
	if rem := ttl % time.Millisecond; rem != 0 {
		ttl += time.Millisecond - rem
	}
	return ttl
}
