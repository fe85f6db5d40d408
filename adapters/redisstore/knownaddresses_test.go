package redisstore_test

import (
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/test/testenv"
)

func TestKnownAddressesAreSharedAndExpire(t *testing.T) {
	client, prefix := testenv.Redis(t)
	a, b := redisstore.NewKnownAddresses(client, prefix), redisstore.NewKnownAddresses(client, prefix)
	known := func(k *redisstore.KnownAddresses, key string) bool {
		t.Helper()
		ok, err := k.Known(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if known(a, "pair:x") {
		t.Fatal("a pair nobody remembered is known")
	}
	if err := a.Remember(t.Context(), "pair:x", 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !known(b, "pair:x") || known(b, "pair:y") {
		t.Error("another node does not see exactly the remembered pair")
	}
	deadline := time.Now().Add(5 * time.Second)
	for known(b, "pair:x") {
		if time.Now().After(deadline) {
			t.Fatal("a remembered pair did not expire")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
