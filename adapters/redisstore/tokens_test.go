package redisstore_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// What the TokenStore contract checks is in test/contract; these tests
// look at the keys themselves.

func opaqueToken(lifetime time.Duration) domain.Token {
	now := time.Now().Truncate(time.Second)
	return domain.Token{
		Value: rand.Text() + rand.Text(), Format: domain.FormatOpaque, ID: rand.Text(),
		Issuer: "http://localhost:8085/ms-auth-server", Subject: "user-client-opaque", ClientID: "user-client-opaque",
		Scopes: domain.NewScopes("country.read"), Audience: []string{"user-client-opaque"},
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(lifetime),
	}
}

func keysUnder(t *testing.T, client redis.UniversalClient, prefix string) []string {
	t.Helper()
	var all []string
	var cursor uint64
	for {
		keys, next, err := client.Scan(t.Context(), cursor, prefix+"*", 100).Result()
		if err != nil {
			t.Fatalf("SCAN: %v", err)
		}
		all = append(all, keys...)
		if next == 0 {
			return all
		}
		cursor = next
	}
}

func TestTokenIsKeptUnderTheHashOfItsValueNeverTheValue(t *testing.T) {
	client, prefix := testenv.Redis(t)
	tok := opaqueToken(4 * time.Hour)
	if err := redisstore.NewTokens(client, prefix).SaveToken(t.Context(), tok); err != nil {
		t.Fatalf("SaveToken: %v", err)
	}

	sum := sha256.Sum256([]byte(tok.Value))
	want := prefix + "token:" + hex.EncodeToString(sum[:])
	keys := keysUnder(t, client, prefix)
	if len(keys) != 1 || keys[0] != want {
		t.Fatalf("keys under the prefix = %v, want just %s", keys, want)
	}
	stored, err := client.Get(t.Context(), want).Result()
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	if strings.Contains(stored, tok.Value) || strings.Contains(stored, tok.Value[:16]) {
		t.Errorf("the stored value holds the token value: %s", stored)
	}
	if !strings.Contains(stored, tok.ID) {
		t.Errorf("the stored value %s does not hold the token's jti: is this the token?", stored)
	}
}

func TestTokenKeyLivesAsLongAsTheToken(t *testing.T) {
	client, prefix := testenv.Redis(t)
	const lifetime = 90 * time.Minute
	tok := opaqueToken(lifetime)
	if err := redisstore.NewTokens(client, prefix).SaveToken(t.Context(), tok); err != nil {
		t.Fatalf("SaveToken: %v", err)
	}
	sum := sha256.Sum256([]byte(tok.Value))
	ttl, err := client.PTTL(t.Context(), prefix+"token:"+hex.EncodeToString(sum[:])).Result()
	if err != nil {
		t.Fatalf("PTTL: %v", err)
	}
	// ExpiresAt counts from the whole second before saving, so the TTL is
	// at most the lifetime; a minute of slack keeps a slow machine green.
	if ttl > lifetime || ttl < lifetime-time.Minute {
		t.Errorf("TTL = %v, want about %v", ttl, lifetime)
	}
}

func TestExpiredTokenLeavesNoKey(t *testing.T) {
	client, prefix := testenv.Redis(t)
	store := redisstore.NewTokens(client, prefix)
	tok := opaqueToken(time.Hour)
	if err := store.SaveToken(t.Context(), tok); err != nil {
		t.Fatalf("SaveToken: %v", err)
	}
	tok.ExpiresAt = time.Now().Add(-time.Minute)
	if err := store.SaveToken(t.Context(), tok); err != nil {
		t.Fatalf("SaveToken of the expired token: %v", err)
	}
	if keys := keysUnder(t, client, prefix); len(keys) != 0 {
		t.Errorf("keys left after saving the token as expired: %v", keys)
	}
}

func TestDeleteTokenRemovesItsKey(t *testing.T) {
	client, prefix := testenv.Redis(t)
	store := redisstore.NewTokens(client, prefix)
	gone, kept := opaqueToken(time.Hour), opaqueToken(time.Hour)
	for _, tok := range []domain.Token{gone, kept} {
		if err := store.SaveToken(t.Context(), tok); err != nil {
			t.Fatalf("SaveToken: %v", err)
		}
	}
	if err := store.DeleteToken(t.Context(), gone.Value); err != nil {
		t.Fatalf("DeleteToken: %v", err)
	}
	sum := sha256.Sum256([]byte(kept.Value))
	if keys := keysUnder(t, client, prefix); len(keys) != 1 || keys[0] != prefix+"token:"+hex.EncodeToString(sum[:]) {
		t.Errorf("keys after DeleteToken = %v, want only the other token's", keys)
	}
}

func TestSaveTokenWithoutExpiryFails(t *testing.T) {
	client, prefix := testenv.Redis(t)
	tok := opaqueToken(time.Hour)
	tok.ExpiresAt = time.Time{}
	if err := redisstore.NewTokens(client, prefix).SaveToken(t.Context(), tok); err == nil {
		t.Error("SaveToken of a token without expiry succeeded")
	}
	if keys := keysUnder(t, client, prefix); len(keys) != 0 {
		t.Errorf("keys stored: %v", keys)
	}
}

func TestUnreachableRedisIsNotNotFound(t *testing.T) {
	// A Redis that is down must not make a token look inactive: the
	// caller has to answer 503, not 401. Port 1 refuses at once.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer client.Close()
	defer redisstore.Guard(client, redisstore.GuardOptions{Timeout: time.Second}).Close()
	_, err := redisstore.NewTokens(client, "x:").FindToken(t.Context(), "value")
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) || errors.Is(err, domain.ErrNotFound) {
		t.Errorf("FindToken error = %v, want one matching domain.ErrTemporarilyUnavailable", err)
	}
}
