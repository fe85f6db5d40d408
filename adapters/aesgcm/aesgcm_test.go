package aesgcm_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/adapters/aesgcm"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, aesgcm.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func newBox(t *testing.T, key []byte) *aesgcm.Box {
	t.Helper()
	b, err := aesgcm.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	b := newBox(t, newKey(t))
	for _, plain := range [][]byte{[]byte("0123456789abcdef0123456789abcdef"), {}, bytes.Repeat([]byte{0}, 4096)} {
		sealed, err := b.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 + 12 + len(plain) + 16; len(sealed) != want || sealed[0] != 1 {
			t.Errorf("sealed is %d bytes with version %d, want %d with version 1", len(sealed), sealed[0], want)
		}
		if len(plain) > 0 && bytes.Contains(sealed, plain) {
			t.Error("sealed secret contains the plaintext")
		}
		got, err := b.Open(sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("open = %q, %v; want %q", got, err, plain)
		}
	}
	// Each seal draws its own nonce.
	s1, _ := b.Seal([]byte("same"))
	s2, _ := b.Seal([]byte("same"))
	if bytes.Equal(s1, s2) {
		t.Error("sealing twice gave the same bytes")
	}
}

func TestOpenRefusesTamperedData(t *testing.T) {
	b := newBox(t, newKey(t))
	sealed, err := b.Seal([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		tampered := bytes.Clone(sealed)
		tampered[i] ^= 0x01
		if _, err := b.Open(tampered); err == nil {
			t.Errorf("opened with byte %d flipped", i)
		}
	}
	for _, bad := range [][]byte{nil, {1}, sealed[:28], sealed[:len(sealed)-1], append(bytes.Clone(sealed), 0)} {
		if _, err := b.Open(bad); err == nil {
			t.Errorf("opened %d bytes", len(bad))
		}
	}
	v2 := bytes.Clone(sealed)
	v2[0] = 2
	if _, err := b.Open(v2); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("unknown version: err = %v", err)
	}
}

func TestOpenRefusesAnotherKey(t *testing.T) {
	sealed, err := newBox(t, newKey(t)).Seal([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newBox(t, newKey(t)).Open(sealed); err == nil {
		t.Error("opened under another key")
	}
}

func TestNewWantsExactly32Bytes(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := aesgcm.New(make([]byte, n)); err == nil {
			t.Errorf("New accepted a %d-byte key", n)
		}
	}
}

func TestParseKey(t *testing.T) {
	key := newKey(t)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		got, err := aesgcm.ParseKey(" " + enc.EncodeToString(key) + "\n")
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("parse: %v", err)
		}
	}
	short := base64.StdEncoding.EncodeToString(key[:16])
	notB64 := "not base64 at all: " + short
	for _, bad := range []string{"", short, base64.StdEncoding.EncodeToString(append(key, 1)), notB64} {
		_, err := aesgcm.ParseKey(bad)
		if err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
			continue
		}
		if bad != "" && strings.Contains(err.Error(), short[:8]) {
			t.Errorf("error quotes the key: %v", err)
		}
	}
}

func TestCreateThenLoadKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sigil.db.kek")
	created, err := aesgcm.CreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", perm)
	}
	loaded, err := aesgcm.LoadKey(path)
	if err != nil || !bytes.Equal(loaded, created) || len(loaded) != aesgcm.KeySize {
		t.Fatalf("load = %d bytes, %v; want the created key", len(loaded), err)
	}
	// The key actually works: what one Box seals, a Box from the file opens.
	sealed, _ := newBox(t, created).Seal([]byte("x"))
	if _, err := newBox(t, loaded).Open(sealed); err != nil {
		t.Error(err)
	}

	// A second creation must not replace the key.
	if _, err := aesgcm.CreateKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second CreateKeyFile: err = %v, want fs.ErrExist", err)
	}
	if again, _ := aesgcm.LoadKey(path); !bytes.Equal(again, created) {
		t.Error("the key changed")
	}
}

func TestLoadKeyRefusesOpenPermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek")
	key, err := aesgcm.CreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	encoded := base64.StdEncoding.EncodeToString(key)
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o620} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := aesgcm.LoadKey(path)
		if err == nil {
			t.Errorf("loaded a key file with mode %04o", mode)
			continue
		}
		if !strings.Contains(err.Error(), "chmod 600") || strings.Contains(err.Error(), encoded[:8]) {
			t.Errorf("mode %04o: err = %v, want advice to chmod 600 and no key", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := aesgcm.LoadKey(path); err != nil {
		t.Errorf("owner-read-only file refused: %v", err)
	}
}

func TestLoadKeyErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := aesgcm.LoadKey(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	if _, err := aesgcm.LoadKey(dir); err == nil {
		t.Error("loaded a directory")
	}
	secretish := base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	for name, content := range map[string]string{
		"short key": secretish,
		"garbage":   "%%%" + secretish,
		"huge":      strings.Repeat("A", 4096),
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := aesgcm.LoadKey(path)
		if err == nil {
			t.Errorf("%s: loaded", name)
			continue
		}
		if strings.Contains(err.Error(), secretish[:8]) {
			t.Errorf("%s: error quotes the file: %v", name, err)
		}
	}
}
