package redisstore_test

import (
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/test/testenv"
)

// The DenyLister contract, on a single Redis and on a cluster, is in
// test/contract.

func TestListDeniedTakesThePrefixLiterally(t *testing.T) {
	client, base := testenv.Redis(t)
	// As a glob, "[a]*" matches "a-other", so the other list's keys would
	// be listed too unless the prefix is quoted.
	mine := redisstore.NewDenyList(client, base+"[a]*:")
	other := redisstore.NewDenyList(client, base+"a-other:")
	until := time.Now().Add(time.Hour)
	if err := mine.Deny(t.Context(), "mine", until); err != nil {
		t.Fatal(err)
	}
	if err := other.Deny(t.Context(), "theirs", until); err != nil {
		t.Fatal(err)
	}
	events, err := mine.ListDenied(t.Context())
	if err != nil {
		t.Fatalf("ListDenied: %v", err)
	}
	if len(events) != 1 || events[0].JTI != "mine" {
		t.Errorf("ListDenied = %+v, want only mine", events)
	}
}

func TestListDeniedOnAnUnreachableRedisFails(t *testing.T) {
	client := unreachableClient()
	defer client.Close()
	list := redisstore.NewDenyList(client, "x:")
	if events, err := list.ListDenied(t.Context()); err == nil {
		t.Errorf("ListDenied = %v with no error", events)
	}
}

func TestDenyKeyLivesUntilTheTokenExpires(t *testing.T) {
	client, prefix := testenv.Redis(t)
	list := redisstore.NewDenyList(client, prefix)
	const jti = "0b4f1c52-3b8e-4f5e-9d0c-6c1e2f3a4b5c"
	if err := list.Deny(t.Context(), jti, time.Now().Add(90*time.Minute)); err != nil {
		t.Fatalf("Deny: %v", err)
	}
	key := prefix + "deny:" + jti
	if keys := keysUnder(t, client, prefix); len(keys) != 1 || keys[0] != key {
		t.Fatalf("keys = %v, want just %s", keys, key)
	}
	if ttl := pttl(t, client, key); !about(ttl, 90*time.Minute) {
		t.Errorf("TTL = %v, want about 90m", ttl)
	}

	t.Run("a shorter denial leaves it", func(t *testing.T) {
		for _, until := range []time.Time{time.Now().Add(time.Minute), time.Now().Add(-time.Minute)} {
			if err := list.Deny(t.Context(), jti, until); err != nil {
				t.Fatalf("Deny: %v", err)
			}
		}
		if ttl := pttl(t, client, key); !about(ttl, 90*time.Minute) {
			t.Errorf("TTL after shorter denials = %v, want still about 90m", ttl)
		}
	})

	t.Run("a longer denial extends it", func(t *testing.T) {
		if err := list.Deny(t.Context(), jti, time.Now().Add(3*time.Hour)); err != nil {
			t.Fatalf("Deny: %v", err)
		}
		if ttl := pttl(t, client, key); !about(ttl, 3*time.Hour) {
			t.Errorf("TTL after a longer denial = %v, want about 3h", ttl)
		}
	})
}

func TestDenyUntilThePastWritesNothing(t *testing.T) {
	client, prefix := testenv.Redis(t)
	if err := redisstore.NewDenyList(client, prefix).Deny(t.Context(), "jti", time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("Deny: %v", err)
	}
	if keys := keysUnder(t, client, prefix); len(keys) != 0 {
		t.Errorf("keys = %v, want none", keys)
	}
}
