package bootstrap

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// minAdminTokenLength is the shortest admin token accepted in the clear:
// `openssl rand -base64 32` gives 44 characters. The token is compared by
// its SHA-256 without a slow hash, so it must not be guessable.
const minAdminTokenLength = 32

// adminTokenHash is the SHA-256 of the admin API's token, from
// admin-token-sha256 or admin-token-file (the token itself, or
// sha256:<hex> of it); nil when neither is set, which turns the API off.
// Only the hash is kept: the file's text is dropped once read.
func adminTokenHash(c Config) ([]byte, error) {
	return tokenHash("admin-token", c.AdminTokenFile, c.AdminTokenSHA256)
}

// tokenHash is the SHA-256 of a bearer token an operator hands over, by
// the settings {name}-file and {name}-sha256 (file and sha): the admin
// token, the registration's initial access token. Nil when neither is set.
func tokenHash(name, file, sha string) ([]byte, error) {
	switch {
	case file != "" && sha != "":
		return nil, fmt.Errorf("%[1]s-file and %[1]s-sha256 are both set: give one", name)
	case sha != "":
		return parseTokenHash(name+"-sha256", strings.TrimPrefix(strings.TrimSpace(sha), "sha256:"))
	case file == "":
		return nil, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s-file: %w", name, err)
	}
	text := strings.TrimSpace(string(raw))
	if h, ok := strings.CutPrefix(text, "sha256:"); ok {
		return parseTokenHash(name+"-file "+file, h)
	}
	if len(text) < minAdminTokenLength {
		return nil, fmt.Errorf("%s-file %s: the token has %d characters, fewer than %d; make one with `openssl rand -base64 32`",
			name, file, len(text), minAdminTokenLength)
	}
	sum := sha256.Sum256([]byte(text))
	return sum[:], nil
}

func parseTokenHash(where, h string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(h))
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("%s: want the 64 hex digits of a SHA-256 (sha256sum prints them)", where)
	}
	return b, nil
}
