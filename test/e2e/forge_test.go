package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// forgedKid rewrites a JWT's header to name a key id nobody published,
// keeping its payload and signature: what an attacker probing the JWKS
// cache would send.
func forgedKid(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	h := jwtHeader(t, token)
	h["kid"] = "no-such-key"
	h["typ"] = "at+jwt"
	raw, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw) + "." + parts[1] + "." + parts[2]
}
