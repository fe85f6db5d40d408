package storekey_test

import (
	"testing"

	"github.com/sigilauth/sigil/adapters/internal/storekey"
)

// The stored form must never change: the rows and keys existing
// deployments hold are found by it. The vectors are FIPS 180-2's.
func TestHashIsTheLowerCaseHexOfSHA256(t *testing.T) {
	for value, want := range map[string]string{
		"":    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	} {
		if got := storekey.Hash(value); got != want {
			t.Errorf("Hash(%q) = %s, want %s", value, got, want)
		}
	}
}
