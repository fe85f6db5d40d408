package josekit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

func statementClaims() map[string]any {
	return map[string]any{
		"iss": "https://vendor.example", "software_id": "svc", "client_name": "vendor svc",
		"scope": "country.read", "sigil_token_format": "opaque",
		"exp": epoch.Add(time.Hour).Unix(),
	}
}

// TestSoftwareStatements: a statement signed by a trusted key gives its
// metadata; each broken one is refused with the code RFC 7591 §3.2.2
// gives it.
func TestSoftwareStatements(t *testing.T) {
	trusted, other := keyFor(t, domain.ES256), rsaKey(t, 1)
	clock := fakes.NewClock(epoch)
	v, err := josekit.NewSoftwareStatements([]byte(jwksOf(t, trusted)), clock, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m, err := v.VerifySoftwareStatement(t.Context(), signWith(t, trusted, statementClaims()))
	if err != nil || m.ClientName != "vendor svc" || m.Scope != "country.read" || m.TokenFormat != "opaque" || m.SoftwareID != "svc" {
		t.Fatalf("trusted statement: %+v %v", m, err)
	}

	without := func(k string) map[string]any { c := statementClaims(); delete(c, k); return c }
	expired := statementClaims()
	expired["exp"] = epoch.Add(-time.Minute).Unix()
	badType := statementClaims()
	badType["scope"] = 42
	good := signWith(t, trusted, statementClaims())
	tampered := good[:len(good)-4] + "AAAA"
	if tampered == good {
		t.Fatal("tampering changed nothing")
	}
	tests := []struct {
		name, statement string
		want            *domain.Error
	}{
		{"not a JWT", "not-a-jwt", domain.ErrInvalidSoftwareStatement},
		{"unsigned", b64JSON(t, map[string]any{"alg": "none"}) + "." + b64JSON(t, statementClaims()) + ".", domain.ErrInvalidSoftwareStatement},
		{"HMAC", forgeHS256(t, []byte("0123456789abcdef0123456789abcdef"), map[string]any{"alg": "HS256", "kid": trusted.ID}, statementClaims()), domain.ErrInvalidSoftwareStatement},
		{"bad signature by a trusted kid", tampered, domain.ErrInvalidSoftwareStatement},
		{"untrusted key", signWith(t, other, statementClaims()), domain.ErrUnapprovedSoftwareStatement},
		{"untrusted key, no kid", signAssertion(t, "RS256", other.Private, "", "", statementClaims()), domain.ErrUnapprovedSoftwareStatement},
		{"no iss", signWith(t, trusted, without("iss")), domain.ErrInvalidSoftwareStatement},
		{"expired", signWith(t, trusted, expired), domain.ErrInvalidSoftwareStatement},
		{"scope not a string", signWith(t, trusted, badType), domain.ErrInvalidSoftwareStatement},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := v.VerifySoftwareStatement(t.Context(), tt.statement); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %s", err, tt.want.Code)
			}
		})
	}
}

func TestSoftwareStatementsNeedAUsableKey(t *testing.T) {
	if _, err := josekit.NewSoftwareStatements([]byte(`{"keys":[]}`), fakes.NewClock(epoch), 0); err == nil {
		t.Error("an empty key set was accepted")
	}
}
