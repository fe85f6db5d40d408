package aesgcm_test

// Fuzz target for what the box reads: the key-encryption key from the
// configuration and sealed secrets from the database, both of which an
// operator's mistake or an attacker with write access can make anything.

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/adapters/aesgcm"
)

// FuzzBox checks that a key reads as 32 bytes or is refused without being
// quoted; that sealed text never opens unless this box sealed it (forging
// GCM is out of reach of a fuzzer, so every fuzzed input must fail); that
// a seal opens to its plaintext, and changing any one byte of it makes it
// fail.
func FuzzBox(f *testing.F) {
	key := bytes.Repeat([]byte{7}, aesgcm.KeySize)
	f.Add(base64.StdEncoding.EncodeToString(key), []byte("s3cret"), []byte{1}, uint16(0))
	f.Add(" "+base64.RawURLEncoding.EncodeToString(key)+"\n", []byte{}, []byte{}, uint16(5))
	f.Add(base64.StdEncoding.EncodeToString(key[:16]), []byte("x"), bytes.Repeat([]byte{1}, 40), uint16(1))
	f.Add("not base64 at all: a secret passphrase", []byte("x"), []byte{2, 0, 0}, uint16(100))
	f.Add(base64.StdEncoding.EncodeToString(append(key, 0)), []byte("x"), []byte{}, uint16(0))
	box, err := aesgcm.New(key)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, encodedKey string, plain, sealed []byte, pos uint16) {
		k, err := aesgcm.ParseKey(encodedKey)
		if err != nil {
			if k != nil {
				t.Fatalf("key returned with error %v", err)
			}
			if s := strings.TrimSpace(encodedKey); len(s) >= 4 && strings.Contains(err.Error(), s) {
				t.Fatalf("error %q quotes the key", err)
			}
		} else {
			if len(k) != aesgcm.KeySize {
				t.Fatalf("ParseKey gave %d bytes", len(k))
			}
			if again, err := aesgcm.ParseKey(base64.StdEncoding.EncodeToString(k)); err != nil || !bytes.Equal(again, k) {
				t.Fatalf("key written again reads as %x, %v", again, err)
			}
		}

		if got, err := box.Open(sealed); err == nil || got != nil {
			t.Fatalf("Open(%x) = %x, %v; only what the box sealed opens", sealed, got, err)
		}

		s, err := box.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		got, err := box.Open(s)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open(Seal(%x)) = %x, %v", plain, got, err)
		}
		changed := bytes.Clone(s)
		changed[int(pos)%len(changed)] ^= 0x01
		if got, err := box.Open(changed); err == nil || got != nil {
			t.Fatalf("a seal with byte %d changed opens: %x", int(pos)%len(changed), got)
		}
	})
}
