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
