package adminwire_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sigilauth/sigil/adapters/internal/adminwire"
)

// FuzzDecodePatch: any body is read or refused without a panic, and a
// patch read is written back as the same patch (what adminclient sends is
// what adminhttp reads).
func FuzzDecodePatch(f *testing.F) {
	for _, s := range []string{
		`{"scopes":["a"],"default_scopes":null}`, `{"token_lifetime":"1h","introspect":true}`,
		`{"auth_methods":null,"jwks":{"keys":[]}}`, `{"resources":[],"audience":["x"],"id":"c"}`, `{}`, `null`, `{"a":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := adminwire.DecodePatch(raw, "c")
		if err != nil {
			return
		}
		again, err := adminwire.EncodePatch(p)
		if err != nil {
			t.Fatalf("encode %+v: %v", p, err)
		}
		back, err := adminwire.DecodePatch(again, "c")
		if err != nil || !reflect.DeepEqual(back, p) {
			t.Fatalf("%s read as %+v, written %s, read back %+v %v", raw, p, again, back, err)
		}
	})
}

// FuzzClient: a client body is read or refused without a panic, and a
// registration read is written by adminclient as the same registration.
func FuzzClient(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","scopes":["country.read"],"secrets":[{"id":"s","secret":"x","expires_at":"2027-01-01T00:00:00Z"}]}`,
		`{"id":"b","token_format":"opaque","token_lifetime":"2h","default_scopes":[],"jwks":"{\"keys\":[]}"}`,
		`{"id":"c","auth_methods":["private_key_jwt"],"jwks":{"keys":[]},"resources":["urn:x"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var d adminwire.Client
		if adminwire.Decode(raw, &d) != nil {
			return
		}
		in, err := d.ToRegistration()
		if err != nil {
			return
		}
		b, err := json.Marshal(adminwire.FromRegistration(in))
		if err != nil {
			t.Fatal(err)
		}
		var d2 adminwire.Client
		if err := adminwire.Decode(b, &d2); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		back, err := d2.ToRegistration()
		if err != nil || !reflect.DeepEqual(back, in) {
			t.Fatalf("%s read as %+v, written %s, read back %+v %v", raw, in, b, back, err)
		}
	})
}
