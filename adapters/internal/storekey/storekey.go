// Package storekey is the form in which the store adapters key a value
// they must not keep: an opaque token (so a dump of the store cannot be
// replayed as bearer tokens) or a client-chosen assertion id (of any
// length or bytes). Every store writes the same form, so the database rows
// and Redis keys that Sigil wrote before stay readable.
package storekey

import (
	"crypto/sha256"
	"encoding/hex"
)

// Hash is the lower-case hex of value's SHA-256: 64 characters. An
// unsalted fast hash is enough for tokens, 256-bit random strings that no
// dictionary holds, and for assertion ids, which are not secret.
func Hash(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}
