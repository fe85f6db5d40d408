package gormstore_test

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// testBox is AES-256-GCM as the server's box is, built here because an
// adapter's tests do not import another adapter.
type testBox struct{ aead cipher.AEAD }

func (b testBox) Seal(plain []byte) ([]byte, error) { return b.aead.Seal(nil, nil, plain, nil), nil }
func (b testBox) Open(sealed []byte) ([]byte, error) {
	return b.aead.Open(nil, nil, sealed, nil)
}

// newBox returns a box under a random key-encryption key.
func newBox(t *testing.T) application.SecretBox {
	t.Helper()
	kek := make([]byte, 32)
	if _, err := rand.Read(kek); err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		t.Fatal(err)
	}
	return testBox{aead: aead}
}

var testRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// keysOfEveryKind are an RSA, an ECDSA and an Ed25519 signing key.
func keysOfEveryKind(t *testing.T) []domain.SigningKey {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	return []domain.SigningKey{
		{ID: "kid-rsa", Algorithm: domain.RS256, State: domain.KeyActive, Private: testRSAKey(), CreatedAt: created, ActivatedAt: created},
		{ID: "kid-ec", Algorithm: domain.ES256, State: domain.KeyPublished, Private: ec, CreatedAt: created.Add(time.Hour)},
		{ID: "kid-ed", Algorithm: domain.EdDSA, State: domain.KeyRetired, Private: ed, CreatedAt: created.Add(-time.Hour), RetiredAt: created},
	}
}

// secretParts are byte strings any of which, found in the table, would
// give the key away: its PKCS#8 DER, that DER in base64 (a PEM file's
// body), and the raw private scalar or seed.
func secretParts(t *testing.T, k domain.SigningKey) map[string][]byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string][]byte{
		"PKCS#8 DER":        der,
		"base64 PKCS#8":     []byte(base64.StdEncoding.EncodeToString(der)),
		"DER's second half": der[len(der)/2:],
	}
	switch p := k.Private.(type) {
	case *rsa.PrivateKey:
		parts["RSA private exponent"] = p.D.Bytes()
		parts["RSA prime"] = p.Primes[0].Bytes()
	case *ecdsa.PrivateKey:
		d, err := p.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		parts["ECDSA scalar"] = d
	case ed25519.PrivateKey:
		parts["Ed25519 seed"] = p.Seed()
	}
	return parts
}

type rawKeyRow struct {
	kid    string
	der    []byte
	sealed bool
}

// rawKeyRows reads sigil_signing_keys bypassing the store.
func rawKeyRows(t *testing.T, db *gorm.DB) map[string]rawKeyRow {
	t.Helper()
	rows, err := db.Raw("SELECT kid, private_key, sealed FROM sigil_signing_keys").Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]rawKeyRow{}
	for rows.Next() {
		var r rawKeyRow
		if err := rows.Scan(&r.kid, &r.der, &r.sealed); err != nil {
			t.Fatal(err)
		}
		out[r.kid] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// assertNoSecretAtRest fails if any column of the table holds a part of
// any of keys.
func assertNoSecretAtRest(t *testing.T, db *gorm.DB, keys []domain.SigningKey) {
	t.Helper()
	raw := rawKeyRows(t, db)
	all := rawRows(t, db, "sigil_signing_keys")
	for _, k := range keys {
		if r, ok := raw[k.ID]; !ok || !r.sealed || len(r.der) == 0 {
			t.Errorf("row of %s = %+v, want a sealed private key", k.ID, r)
		}
		for what, b := range secretParts(t, k) {
			for _, r := range raw {
				if bytes.Contains(r.der, b) {
					t.Errorf("the private_key column of %s holds the %s of key %s", r.kid, what, k.ID)
				}
			}
			for _, row := range all {
				for col, v := range row {
					if strings.Contains(v, string(b)) {
						t.Errorf("column %s of row %s holds the %s of key %s", col, row["kid"], what, k.ID)
					}
				}
			}
		}
	}
}

// assertSigns checks that a listed key signs what the original verifies.
func assertSigns(t *testing.T, got, want domain.SigningKey) {
	t.Helper()
	if got.ID != want.ID || got.State != want.State || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("key = %s/%s/%v, want %s/%s/%v", got.ID, got.State, got.CreatedAt, want.ID, want.State, want.CreatedAt)
	}
	msg := []byte("header.payload")
	switch pub := want.Public().(type) {
	case ed25519.PublicKey:
		sig, err := got.Private.Sign(rand.Reader, msg, crypto.Hash(0))
		if err != nil || !ed25519.Verify(pub, msg, sig) {
			t.Errorf("key %s does not sign as the original: %v", want.ID, err)
		}
	default:
		p, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !p.Equal(got.Public()) {
			t.Errorf("key %s has another public key than the one saved", want.ID)
		}
	}
}

func TestKeysRestSealedNeverInTheClear(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.migrated(t)
			store := gormstore.NewKeys(db, newBox(t))
			keys := keysOfEveryKind(t)
			for _, k := range keys {
				if err := store.SaveSigningKey(t.Context(), k); err != nil {
					t.Fatalf("SaveSigningKey(%s): %v", k.ID, err)
				}
			}
			assertNoSecretAtRest(t, db, keys)

			listed, err := store.ListSigningKeys(t.Context())
			if err != nil {
				t.Fatalf("ListSigningKeys: %v", err)
			}
			if len(listed) != len(keys) {
				t.Fatalf("ListSigningKeys = %d keys, want %d", len(listed), len(keys))
			}
			byID := map[string]domain.SigningKey{}
			for _, k := range listed {
				byID[k.ID] = k
			}
			for _, k := range keys {
				assertSigns(t, byID[k.ID], k)
			}
		})
	}
}

func TestKeysUnderAnotherKeyEncryptionKeyFailClearly(t *testing.T) {
	db := testenv.SQLite(t)
	k := keysOfEveryKind(t)[1]
	if err := gormstore.NewKeys(db, newBox(t)).SaveSigningKey(t.Context(), k); err != nil {
		t.Fatalf("SaveSigningKey: %v", err)
	}
	keys, err := gormstore.NewKeys(db, newBox(t)).ListSigningKeys(t.Context())
	if err == nil {
		t.Fatalf("ListSigningKeys under another key-encryption key = %d keys, no error", len(keys))
	}
	for _, want := range []string{k.ID, "key-encryption key does not match"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// unversion turns a migrated database back into one the release before
// versioned migrations left: no record of steps, no lock table, and
// sigil_signing_keys without this release's columns.
func unversion(t *testing.T, db *gorm.DB) {
	t.Helper()
	for _, q := range []string{
		"DROP TABLE sigil_schema_migrations",
		"DROP TABLE sigil_locks",
		"ALTER TABLE sigil_signing_keys DROP COLUMN activated_at",
		"ALTER TABLE sigil_signing_keys DROP COLUMN retired_at",
		"ALTER TABLE sigil_signing_keys DROP COLUMN sealed",
	} {
		if err := db.Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestKeysInTheClearFromAnEarlierReleaseAreSealedAtFirstStart(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.migrated(t)
			unversion(t, db)
			keys := keysOfEveryKind(t)
			for _, k := range keys {
				der, err := x509.MarshalPKCS8PrivateKey(k.Private)
				if err != nil {
					t.Fatal(err)
				}
				err = db.Exec("INSERT INTO sigil_signing_keys (kid, algorithm, state, private_key, created_at) VALUES (?, ?, ?, ?, ?)",
					k.ID, string(k.Algorithm), string(k.State), der, k.CreatedAt.UnixMicro()).Error
				if err != nil {
					t.Fatalf("insert a plaintext key as the earlier release did: %v", err)
				}
			}

			// The first start of this release: migrate, then list the keys.
			if err := gormstore.Migrate(t.Context(), db); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			box := newBox(t)
			listed, err := gormstore.NewKeys(db, box).ListSigningKeys(t.Context())
			if err != nil {
				t.Fatalf("ListSigningKeys: %v", err)
			}
			if len(listed) != len(keys) {
				t.Fatalf("ListSigningKeys = %d keys, want %d", len(listed), len(keys))
			}
			for _, k := range listed {
				// The earlier release had no dates beyond CreatedAt.
				if !k.ActivatedAt.IsZero() || !k.RetiredAt.IsZero() {
					t.Errorf("key %s came back with dates %v, %v; want none", k.ID, k.ActivatedAt, k.RetiredAt)
				}
			}
			byID := map[string]domain.SigningKey{}
			for _, k := range listed {
				byID[k.ID] = k
			}
			for _, k := range keys {
				k.ActivatedAt, k.RetiredAt = time.Time{}, time.Time{}
				assertSigns(t, byID[k.ID], k)
			}
			assertNoSecretAtRest(t, db, keys)

			// The sealed rows open again with the same box, and only with it.
			if again, err := gormstore.NewKeys(db, box).ListSigningKeys(t.Context()); err != nil || len(again) != len(keys) {
				t.Errorf("second ListSigningKeys = %d keys, %v; want %d", len(again), err, len(keys))
			}
			if _, err := gormstore.NewKeys(db, newBox(t)).ListSigningKeys(t.Context()); err == nil {
				t.Error("ListSigningKeys with another box opened the converted keys")
			}
		})
	}
}

func TestDeleteSigningKeyRemovesTheRow(t *testing.T) {
	db := testenv.SQLite(t)
	store := gormstore.NewKeys(db, newBox(t))
	for _, k := range keysOfEveryKind(t) {
		if err := store.SaveSigningKey(t.Context(), k); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.DeleteSigningKey(t.Context(), "kid-ed"); err != nil {
		t.Fatalf("DeleteSigningKey: %v", err)
	}
	raw := rawKeyRows(t, db)
	if _, ok := raw["kid-ed"]; ok || len(raw) != 2 {
		t.Errorf("rows after deleting kid-ed: %v, want kid-rsa and kid-ec only", raw)
	}
}
