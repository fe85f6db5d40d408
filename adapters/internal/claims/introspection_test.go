package claims_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

func TestAppendIntrospection(t *testing.T) {
	at := time.Unix(1795377919, 0)
	for _, c := range []struct {
		name string
		in   application.Introspection
		want string
	}{
		{
			name: "every member, in the order Sigil writes them",
			in: application.Introspection{Active: true, Token: domain.Token{
				ID: "jti-1", Issuer: "http://localhost:8085/ms-auth-server", Subject: "svc", ClientID: "svc",
				Scopes: domain.NewScopes("country.read", "customer.read"), Audience: []string{"https://api.example", "b\"c"},
				IssuedAt: at, NotBefore: at, ExpiresAt: at.Add(4 * time.Hour),
			}},
			want: `{"active":true,"sub":"svc","aud":["https://api.example","b\"c"],"nbf":1795377919,` +
				`"scope":"country.read customer.read","iss":"http://localhost:8085/ms-auth-server",` +
				`"exp":1795392319,"iat":1795377919,"jti":"jti-1","client_id":"svc","token_type":"Bearer"}`,
		},
		{
			name: "one audience is still an array",
			in:   application.Introspection{Active: true, Token: domain.Token{Subject: "s\n", Audience: []string{"x"}, ExpiresAt: at}},
			want: `{"active":true,"sub":"s\n","aud":["x"],"exp":1795377919,"token_type":"Bearer"}`,
		},
		{
			name: "a DPoP-bound token is of type DPoP, with its cnf",
			in:   application.Introspection{Active: true, Token: domain.Token{Subject: "s", ExpiresAt: at, JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}},
			want: `{"active":true,"sub":"s","exp":1795377919,"token_type":"DPoP","cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}`,
		},
		{
			name: "a certificate-bound token stays Bearer, with its cnf",
			in:   application.Introspection{Active: true, Token: domain.Token{Subject: "s", ExpiresAt: at, X5T: "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}},
			want: `{"active":true,"sub":"s","exp":1795377919,"token_type":"Bearer","cnf":{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}`,
		},
		{
			name: "an exchanged token carries its act chain",
			in: application.Introspection{Active: true, Token: domain.Token{Subject: "a", ExpiresAt: at,
				Actor: &domain.Actor{Subject: "c", Prior: &domain.Actor{Subject: "b", Issuer: "https://spire.example"}}}},
			want: `{"active":true,"sub":"a","exp":1795377919,"token_type":"Bearer","act":{"sub":"c","act":{"sub":"b","iss":"https://spire.example"}}}`,
		},
		{
			name: "inactive says nothing more, whatever the token holds",
			in:   application.Introspection{Active: false, Token: domain.Token{Subject: "svc", ExpiresAt: at}},
			want: `{"active":false}`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := string(claims.AppendIntrospection(nil, c.in)); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// seedAnswer is the seed's opaque token as the use case answers for it.
var seedAnswer = application.Introspection{Active: true, Token: domain.Token{
	ID: "4df7aa1c-96be-4653-a7bd-fe34b5fcc51a", Issuer: "http://localhost:8085/ms-auth-server",
	Subject: "user-client-opaque", ClientID: "user-client-opaque", Scopes: domain.NewScopes("country.read"),
	Audience: []string{"user-client-opaque"}, IssuedAt: time.Unix(1795377919, 0), NotBefore: time.Unix(1795377919, 0),
	ExpiresAt: time.Unix(1795377919, 0).Add(4 * time.Hour),
}}

func TestAppendIntrospectionDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = claims.AppendIntrospection(buf[:0], seedAnswer) }); n != 0 {
		t.Errorf("AppendIntrospection allocates %v times into a buffer with room", n)
	}
}

// BenchmarkAppendIntrospection measures the hand encoder of the
// introspection endpoint's answer, and json.Marshal of its definition for
// comparison.
//
//	go test -run '^$' -bench . -benchmem ./adapters/internal/claims/
func BenchmarkAppendIntrospection(b *testing.B) {
	b.Run("by hand", func(b *testing.B) {
		buf := make([]byte, 0, 512)
		b.ReportAllocs()
		for b.Loop() {
			buf = claims.AppendIntrospection(buf[:0], seedAnswer)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(claims.NewIntrospection(seedAnswer)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// unixOrZero is the time of a NumericDate, 0 standing for an unset time.
func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// FuzzIntrospection checks the one definition of the RFC 7662 answer
// against its hand encoder, for any answer the use case can give: the
// bytes AppendIntrospection writes are those json.Marshal writes for
// NewIntrospection (and so what josekit signs), an inactive answer is
// exactly {"active":false}, and the bytes read back, with encoding/json,
// as exactly that Introspection. They read back whenever the dates are
// ones a NumericDate takes (0 to year 9999), and are refused otherwise.
// aud is split on newlines (none when empty), scope on spaces.
func FuzzIntrospection(f *testing.F) {
	f.Add(true, "svc", "https://api.example\nb\"c", "country.read customer.read", "http://localhost:8085/ms-auth-server",
		"jti-1", "svc", int64(1795377919), int64(1795392319), int64(1795377919))
	f.Add(false, "svc", "x", "a", "iss", "jti", "svc", int64(1), int64(2), int64(3))
	f.Add(true, "", "", "", "", "", "", int64(0), int64(1), int64(0))
	f.Add(true, "<&>\u2028", "\n", " ", "\x00", "\xff", "é", int64(-1), int64(253402300800), int64(-62135596800))
	f.Fuzz(func(t *testing.T, active bool, sub, aud, scope, iss, jti, clientID string, nbf, exp, iat int64) {
		tok := domain.Token{
			Subject: sub, Issuer: iss, ID: jti, ClientID: clientID, JKT: clientID, X5T: iss,
			Scopes:    domain.Scopes(strings.Split(scope, " ")),
			NotBefore: unixOrZero(nbf), ExpiresAt: unixOrZero(exp), IssuedAt: unixOrZero(iat),
		}
		if aud != "" {
			tok.Audience = strings.Split(aud, "\n")
		}
		r := application.Introspection{Active: active, Token: tok}

		got := claims.AppendIntrospection(nil, r)
		def := claims.NewIntrospection(r)
		want, err := json.Marshal(def)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendIntrospection\n got %s\nwant %s (json.Marshal of the definition)", got, want)
		}
		if !active && string(got) != `{"active":false}` {
			t.Fatalf("inactive answer %s, want exactly {\"active\":false}", got)
		}

		var back claims.Introspection
		err = json.Unmarshal(got, &back)
		inRange := func(d claims.NumericDate) bool { return d >= 0 && d <= 253402300799 }
		if wantRead := inRange(def.NotBefore) && inRange(def.ExpiresAt) && inRange(def.IssuedAt); (err == nil) != wantRead {
			t.Fatalf("answer %s read with error %v; want it read: %v", got, err, wantRead)
		}
		// encoding/json writes invalid UTF-8 as U+FFFD: such strings
		// cannot come back as they were.
		for _, s := range append([]string{sub, scope, iss, jti, clientID}, tok.Audience...) {
			if !utf8.ValidString(s) {
				return
			}
		}
		if err == nil && !reflect.DeepEqual(back, def) {
			t.Fatalf("answer %s reads back as\n %+v\nwant\n %+v", got, back, def)
		}
	})
}
