package josekit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/domain"
)

// marshalAccessTokenClaims is how the claims were written before
// appendAccessTokenClaims: json.Marshal of the struct the verifier reads.
// Tokens already issued and every verifier out there saw these bytes.
func marshalAccessTokenClaims(t domain.Token) ([]byte, error) {
	return json.Marshal(accessTokenClaims{
		Issuer:    t.Issuer,
		Subject:   t.Subject,
		Audience:  claims.Audience(t.Audience),
		ExpiresAt: claims.NewNumericDate(t.ExpiresAt),
		IssuedAt:  claims.NewNumericDate(t.IssuedAt),
		NotBefore: claims.NewNumericDate(t.NotBefore),
		ID:        t.ID,
		ClientID:  t.ClientID,
		Scope:     claims.Scope(t.Scopes.String()),
		Cnf:       claims.NewConfirmation(t.JKT, t.X5T),
		Act:       claims.NewActor(t.Actor),
	})
}

func TestAccessTokenClaimsAreWhatJSONMarshalWrites(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	typical := domain.Token{
		ID:        "6c1e6f3a-1b0e-4f55-9d4b-0e6ad7c7b8a1",
		Issuer:    "https://auth.example.test",
		Subject:   "service-client-jwt",
		ClientID:  "service-client-jwt",
		Scopes:    domain.NewScopes("country.read", "customer.read", "customer.write"),
		Audience:  []string{"service-client-jwt"},
		IssuedAt:  at,
		NotBefore: at,
		ExpiresAt: at.Add(time.Hour),
	}
	with := func(change func(*domain.Token)) domain.Token {
		tok := typical
		change(&tok)
		return tok
	}
	for name, tok := range map[string]domain.Token{
		"typical":                typical,
		"several audiences":      with(func(t *domain.Token) { t.Audience = []string{"a", "b", "c"} }),
		"no audience":            with(func(t *domain.Token) { t.Audience = nil }),
		"empty audience":         with(func(t *domain.Token) { t.Audience = []string{} }),
		"one empty audience":     with(func(t *domain.Token) { t.Audience = []string{""} }),
		"empty scope":            with(func(t *domain.Token) { t.Scopes = nil }),
		"one empty scope":        with(func(t *domain.Token) { t.Scopes = domain.Scopes{""} }),
		"two empty scopes":       with(func(t *domain.Token) { t.Scopes = domain.Scopes{"", ""} }),
		"one scope":              with(func(t *domain.Token) { t.Scopes = domain.Scopes{"openid"} }),
		"bound to a DPoP key":    with(func(t *domain.Token) { t.JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }),
		"odd jkt":                with(func(t *domain.Token) { t.JKT = `"<\` + "\xff" }),
		"bound to a certificate": with(func(t *domain.Token) { t.X5T = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" }),
		"bound to both": with(func(t *domain.Token) {
			t.JKT, t.X5T = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"
		}),
		"exchanged, with a chain of actors": with(func(t *domain.Token) {
			t.Actor = &domain.Actor{Subject: "service-c", Prior: &domain.Actor{Subject: "spiffe://example.org/b", Issuer: "https://spire.example.org"}}
		}),
		"bound and exchanged": with(func(t *domain.Token) {
			t.JKT, t.Actor = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", &domain.Actor{Subject: `b"<`}
		}),
		"no optional members": {
			Issuer: "https://auth.example.test", ExpiresAt: at,
		},
		"nothing but expiry": {ExpiresAt: at},
		"before 1970":        with(func(t *domain.Token) { t.IssuedAt = time.Unix(-86400, 0) }),
		"at the epoch":       with(func(t *domain.Token) { t.NotBefore = time.Unix(0, 0) }),
		"sub-second times":   with(func(t *domain.Token) { t.ExpiresAt = at.Add(1500 * time.Millisecond) }),
		"unicode and quotes": with(func(t *domain.Token) {
			t.Subject = `José "the client" \ 日本 🔑`
			t.ClientID = "tab\there\nnewline\x00nul"
			t.Audience = []string{"<script>&amp;</script>", "a\u2028b\u2029c"}
		}),
		"invalid utf-8": with(func(t *domain.Token) {
			t.ID = "\xff\xfe"
			t.Issuer = "https://auth.example.test/\xe2\x80"
			t.Scopes = domain.Scopes{"a\xc3", "\xa9b"}
		}),
	} {
		t.Run(name, func(t *testing.T) {
			want, err := marshalAccessTokenClaims(tok)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendAccessTokenClaims(nil, tok); string(got) != string(want) {
				t.Errorf("claims differ from json.Marshal:\n got  %s\n want %s", got, want)
			}
		})
	}
}

// FuzzAccessTokenClaims compares the appender with json.Marshal on any
// strings: audiences and scopes are given as one string split on '|'.
func FuzzAccessTokenClaims(f *testing.F) {
	f.Add("https://auth.example.test", "sub", "aud1", "jti", "client", "a b c", int64(1893553445), int64(1893549845), int64(1893549845))
	f.Add("", "", "", "", "", "", int64(1), int64(0), int64(0))
	f.Add("i\"ss", "s\\ub", "a|b|", "\xff", "<&>", "|", int64(-5), int64(-1), int64(253402300799))
	f.Fuzz(func(t *testing.T, iss, sub, aud, jti, clientID, scope string, exp, iat, nbf int64) {
		tok := domain.Token{
			Issuer: iss, Subject: sub, ID: jti, ClientID: clientID, JKT: sub, X5T: iss,
			ExpiresAt: time.Unix(exp, 0), IssuedAt: time.Unix(iat, 0), NotBefore: time.Unix(nbf, 0),
		}
		if aud != "" {
			tok.Audience = strings.Split(aud, "|")
		}
		if scope != "" {
			tok.Scopes = strings.Split(scope, "|")
		}
		want, err := marshalAccessTokenClaims(tok)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendAccessTokenClaims(nil, tok); string(got) != string(want) {
			t.Errorf("claims differ from json.Marshal:\n got  %s\n want %s", got, want)
		}
	})
}

func TestAccessTokenClaimsDoNotAllocate(t *testing.T) {
	tok := domain.Token{
		ID: "6c1e6f3a-1b0e-4f55-9d4b-0e6ad7c7b8a1", Issuer: "https://auth.example.test",
		Subject: "s", ClientID: "c", Audience: []string{"a", "b"},
		Scopes:   domain.NewScopes("country.read", "customer.read"),
		IssuedAt: time.Unix(1893549845, 0), ExpiresAt: time.Unix(1893553445, 0),
	}
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = appendAccessTokenClaims(buf[:0], tok) }); n != 0 {
		t.Errorf("appendAccessTokenClaims allocates %v times into a buffer with room", n)
	}
}

func BenchmarkAccessTokenClaims(b *testing.B) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tok := domain.Token{
		ID: "6c1e6f3a-1b0e-4f55-9d4b-0e6ad7c7b8a1", Issuer: "https://auth.example.test",
		Subject: "service-client-jwt", ClientID: "service-client-jwt",
		Scopes:   domain.NewScopes("country.read", "customer.read", "customer.write"),
		Audience: []string{"service-client-jwt"}, IssuedAt: at, NotBefore: at, ExpiresAt: at.Add(time.Hour),
	}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf [512]byte
		for b.Loop() {
			_ = appendAccessTokenClaims(buf[:0], tok)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := marshalAccessTokenClaims(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
