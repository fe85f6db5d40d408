package contract

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// rsaKey is generated once per test binary: RSA generation is slow and
// any 2048-bit key serves.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// KeyStore checks an application.KeyStore. newStore returns an empty store.
func KeyStore(t *testing.T, newStore func(t *testing.T) application.KeyStore) {
	created := time.Date(2023, 4, 29, 1, 23, 35, 123456000, time.UTC)

	t.Run("an empty store lists no keys", func(t *testing.T) {
		store := newStore(t)
		keys, err := store.ListSigningKeys(t.Context())
		if err != nil {
			t.Fatalf("ListSigningKeys: %v", err)
		}
		if len(keys) != 0 {
			t.Errorf("ListSigningKeys = %d keys, want none", len(keys))
		}
	})

	t.Run("a saved key comes back and still signs", func(t *testing.T) {
		ecKey := ecdsaKey(t, "kid-ec")
		ecKey.State, ecKey.CreatedAt = domain.KeyPublished, created.Add(time.Hour)
		rsaSigning := domain.SigningKey{
			ID: "62849bea-83a4-4ec6-abce-eb5f0989ec36", Algorithm: domain.RS256,
			State: domain.KeyActive, Private: rsaKey(), CreatedAt: created,
		}
		store := newStore(t)
		mustSaveKey(t, store, rsaSigning)
		mustSaveKey(t, store, ecKey)

		keys := mustListKeys(t, store)
		if len(keys) != 2 {
			t.Fatalf("ListSigningKeys = %d keys, want 2", len(keys))
		}
		for _, want := range []domain.SigningKey{rsaSigning, ecKey} {
			i := slices.IndexFunc(keys, func(k domain.SigningKey) bool { return k.ID == want.ID })
			if i < 0 {
				t.Errorf("key %s not listed", want.ID)
				continue
			}
			assertSameKey(t, keys[i], want)
		}
	})

	t.Run("keys saved one after another list oldest first", func(t *testing.T) {
		store := newStore(t)
		var want []string
		for i, state := range []domain.KeyState{domain.KeyRetired, domain.KeyActive, domain.KeyPublished} {
			k := ecdsaKey(t, "")
			k.State, k.CreatedAt = state, created.Add(time.Duration(i)*24*time.Hour)
			mustSaveKey(t, store, k)
			want = append(want, k.ID)
		}
		var got []string
		for _, k := range mustListKeys(t, store) {
			got = append(got, k.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListSigningKeys kids = %v, want %v", got, want)
		}
	})

	t.Run("a saved key keeps its activation and retirement dates", func(t *testing.T) {
		store := newStore(t)
		rotated := ecdsaKey(t, "kid-rotated")
		rotated.State, rotated.CreatedAt = domain.KeyRetired, created
		rotated.ActivatedAt = created.Add(time.Hour + time.Microsecond)
		rotated.RetiredAt = created.Add(90*24*time.Hour + 7*time.Microsecond)
		fresh := ecdsaKey(t, "kid-fresh")
		fresh.State, fresh.CreatedAt = domain.KeyPublished, created.Add(time.Minute)
		mustSaveKey(t, store, rotated)
		mustSaveKey(t, store, fresh)

		keys := mustListKeys(t, store)
		if len(keys) != 2 {
			t.Fatalf("ListSigningKeys = %d keys, want 2", len(keys))
		}
		assertSameKey(t, keys[0], rotated)
		assertSameKey(t, keys[1], fresh)
		if !keys[1].ActivatedAt.IsZero() || !keys[1].RetiredAt.IsZero() {
			t.Errorf("a key never activated came back with ActivatedAt %v, RetiredAt %v; want both zero", keys[1].ActivatedAt, keys[1].RetiredAt)
		}
	})

	t.Run("a deleted key is gone and the others stay", func(t *testing.T) {
		store := newStore(t)
		kept, gone := ecdsaKey(t, "kid-kept"), ecdsaKey(t, "kid-gone")
		kept.State, kept.CreatedAt = domain.KeyActive, created
		gone.State, gone.CreatedAt, gone.RetiredAt = domain.KeyRetired, created.Add(-time.Hour), created
		mustSaveKey(t, store, kept)
		mustSaveKey(t, store, gone)

		for range 2 { // deleting again is no error
			if err := store.DeleteSigningKey(t.Context(), gone.ID); err != nil {
				t.Fatalf("DeleteSigningKey(%s): %v", gone.ID, err)
			}
		}
		if err := store.DeleteSigningKey(t.Context(), "kid-never-saved"); err != nil {
			t.Errorf("DeleteSigningKey of an unknown kid: %v, want no error", err)
		}
		keys := mustListKeys(t, store)
		if len(keys) != 1 {
			t.Fatalf("ListSigningKeys after the delete = %d keys, want 1", len(keys))
		}
		assertSameKey(t, keys[0], kept)
	})

	t.Run("saving a kid again replaces the key", func(t *testing.T) {
		store := newStore(t)
		k := ecdsaKey(t, "kid-rotating")
		k.State, k.CreatedAt = domain.KeyActive, created
		mustSaveKey(t, store, k)
		k.State, k.RetiredAt = domain.KeyRetired, created.Add(24*time.Hour)
		mustSaveKey(t, store, k)

		keys := mustListKeys(t, store)
		if len(keys) != 1 {
			t.Fatalf("ListSigningKeys = %d keys, want 1", len(keys))
		}
		assertSameKey(t, keys[0], k)
	})
}

var ecdsaKeys fakes.KeyGenerator

// ecdsaKey makes a P-256 key, with kid if not empty.
func ecdsaKey(t *testing.T, kid string) domain.SigningKey {
	t.Helper()
	k, err := ecdsaKeys.GenerateSigningKey("ES256")
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	if kid != "" {
		k.ID = kid
	}
	return k
}

func mustSaveKey(t *testing.T, store application.KeyStore, k domain.SigningKey) {
	t.Helper()
	if err := store.SaveSigningKey(t.Context(), k); err != nil {
		t.Fatalf("SaveSigningKey(%s): %v", k.ID, err)
	}
}

func mustListKeys(t *testing.T, store application.KeyStore) []domain.SigningKey {
	t.Helper()
	keys, err := store.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatalf("ListSigningKeys: %v", err)
	}
	return keys
}

// assertSameKey checks what a verifier and the rotation would notice: the
// kid, algorithm, state and dates, a public key equal to the original,
// and that the private key signs what the original public key verifies.
func assertSameKey(t *testing.T, got, want domain.SigningKey) {
	t.Helper()
	if got.ID != want.ID || got.Algorithm != want.Algorithm || got.State != want.State {
		t.Errorf("key = %s/%s/%s, want %s/%s/%s", got.ID, got.Algorithm, got.State, want.ID, want.Algorithm, want.State)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("key %s CreatedAt = %v, want %v", want.ID, got.CreatedAt, want.CreatedAt)
	}
	if !got.ActivatedAt.Equal(want.ActivatedAt) || !got.RetiredAt.Equal(want.RetiredAt) {
		t.Errorf("key %s ActivatedAt, RetiredAt = %v, %v; want %v, %v", want.ID, got.ActivatedAt, got.RetiredAt, want.ActivatedAt, want.RetiredAt)
	}
	if got.Private == nil {
		t.Fatalf("key %s has no private key", want.ID)
	}
	pub, ok := got.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(want.Public()) {
		t.Errorf("key %s public key differs from the one saved", want.ID)
	}
	digest := sha256.Sum256([]byte("header.payload " + want.ID))
	sig, err := got.Private.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("key %s Sign: %v", want.ID, err)
	}
	if !verifies(want.Public(), digest[:], sig) {
		t.Errorf("key %s: signature does not verify with the original public key", want.ID)
	}
}

func verifies(pub crypto.PublicKey, digest, sig []byte) bool {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(p, crypto.SHA256, digest, sig) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(p, digest, sig)
	default:
		return false
	}
}
