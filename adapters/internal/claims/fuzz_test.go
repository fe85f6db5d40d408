package claims_test

// Fuzz target for the claim readers the verifier, the client assertion
// check and the introspection client share: aud, scope and the dates, read
// from JSON a client or another server wrote.

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/adapters/internal/claims"
)

// FuzzClaims reads any JSON value as each claim type and checks it
// against encoding/json's own reading of the value: a NumericDate is
// taken exactly when the value is null or a number from 0 to year 9999,
// its fractional part dropped; an Audience when it is null, a string or
// an array of strings (a null element read as ""), and it writes back as
// what it read; an AudienceList as an Audience, written as an array; a
// Scope when it is null, a string, or an array of non-empty tokens
// without spaces, joined by single spaces.
func FuzzClaims(f *testing.F) {
	for _, s := range []string{
		`null`, `0`, `1893553445`, `1893553445.9`, `-1`, `253402300799`, `253402300800`, `1e3`, `1e400`, `"1"`,
		`"aud"`, `["a","b"]`, `[]`, `["a",1]`, `"a b"`, `["a b"]`, `[""]`, `["a","a"]`, `{}`, `true`, `"\u00e9"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return // not one JSON value: the enclosing decoder refuses it first
		}

		var d claims.NumericDate
		err := json.Unmarshal(raw, &d)
		n, isNumber := v.(float64)
		wantDate := v == nil || (isNumber && n >= 0 && n <= 253402300799)
		if (err == nil) != wantDate {
			t.Fatalf("NumericDate of %s: error %v, want accepted %v", raw, err, wantDate)
		}
		if err == nil && isNumber && int64(d) != int64(math.Trunc(n)) {
			t.Fatalf("NumericDate of %s = %d, want %d", raw, d, int64(n))
		}

		var a claims.Audience
		err = json.Unmarshal(raw, &a)
		var want []string
		wantAud := true
		switch x := v.(type) {
		case nil:
		case string:
			want = []string{x}
		case []any:
			want = []string{}
			for _, e := range x {
				// encoding/json reads a null element as "": an audience
				// nobody has, so it is left as it reads.
				s, ok := e.(string)
				if !ok && e != nil {
					wantAud = false
				}
				want = append(want, s)
			}
		default:
			wantAud = false
		}
		if (err == nil) != wantAud {
			t.Fatalf("Audience of %s: error %v, want accepted %v", raw, err, wantAud)
		}
		if err == nil {
			if !slices.Equal(a, want) {
				t.Fatalf("Audience of %s = %q, want %q", raw, a, want)
			}
			out, err := json.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			var back claims.Audience
			if err := json.Unmarshal(out, &back); err != nil || !slices.Equal(back, a) {
				t.Fatalf("Audience %q written as %s reads as %q, %v", a, out, back, err)
			}
		}

		// AudienceList reads what Audience reads and writes an array.
		var list claims.AudienceList
		listErr := json.Unmarshal(raw, &list)
		if (listErr == nil) != (err == nil) || !slices.Equal([]string(list), []string(a)) {
			t.Fatalf("AudienceList of %s = %q, %v; Audience = %q, %v", raw, list, listErr, a, err)
		}
		if listErr == nil && list != nil {
			out, _ := json.Marshal(list)
			if want, _ := json.Marshal([]string(list)); !bytes.Equal(out, want) {
				t.Fatalf("AudienceList %q written as %s, want %s", list, out, want)
			}
		}

		var s claims.Scope
		err = json.Unmarshal(raw, &s)
		wantScope, ok := "", true
		switch x := v.(type) {
		case nil:
		case string:
			wantScope = x
		case []any:
			tokens := make([]string, 0, len(x))
			for _, e := range x {
				tok, isString := e.(string)
				if !isString || tok == "" || strings.Contains(tok, " ") {
					ok = false
				}
				tokens = append(tokens, tok)
			}
			wantScope = strings.Join(tokens, " ")
		default:
			ok = false
		}
		if (err == nil) != ok || (err == nil && string(s) != wantScope) {
			t.Fatalf("Scope of %s = %q, %v; want %q, accepted %v", raw, s, err, wantScope, ok)
		}
	})
}
