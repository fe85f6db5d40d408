package bootstrap_test

import (
	"reflect"
	"testing"

	"github.com/sigilauth/sigil/adapters/adminclient"
	"github.com/sigilauth/sigil/adapters/adminhttp"
	"github.com/sigilauth/sigil/bootstrap"
)

// The CLI can use either: the admin operations over the database, or
// over the admin API of a running node.
var (
	_ adminhttp.Operations = (*bootstrap.Admin)(nil)
	_ adminhttp.Operations = (*adminclient.Client)(nil)
)

// A client written in the API's JSON is the client the same entry of a
// clients file registers: same defaults, same fields.
func TestAdminAPIReadsClientsAsTheClientsFileDoes(t *testing.T) {
	for _, c := range []struct{ name, yaml, json string }{
		{"defaults", `clients: [{id: a, scopes: [country.read], secrets: [{id: s, secret: x}]}]`,
			`{"id":"a","scopes":["country.read"],"secrets":[{"id":"s","secret":"x"}]}`},
		{"every field",
			`clients: [{id: b, token_format: opaque, token_lifetime: 2h, auth_methods: [client_secret_post, private_key_jwt],
  scopes: [a, b], default_scopes: [], resources: ["https://api.example.com"], audience: [x], introspect: true,
  jwks_uri: "https://b.example/jwks", secrets: [{id: s, secret: y, expires_at: "2027-01-01T00:00:00Z"}]}]`,
			`{"id":"b","token_format":"opaque","token_lifetime":"2h","auth_methods":["client_secret_post","private_key_jwt"],
  "scopes":["a","b"],"default_scopes":[],"resources":["https://api.example.com"],"audience":["x"],"introspect":true,
  "jwks_uri":"https://b.example/jwks","secrets":[{"id":"s","secret":"y","expires_at":"2027-01-01T00:00:00Z"}]}`},
		{"jwks as a string", `clients: [{id: c, auth_methods: [private_key_jwt], jwks: '{"keys":[]}'}]`,
			`{"id":"c","auth_methods":["private_key_jwt"],"jwks":{"keys":[]}}`},
	} {
		fromFile, err := bootstrap.ParseClientsFile([]byte(c.yaml), func(string) (string, bool) { return "", false })
		if err != nil || len(fromFile) != 1 {
			t.Fatalf("%s: clients file: %v", c.name, err)
		}
		fromJSON, err := adminhttp.DecodeClient([]byte(c.json))
		if err != nil {
			t.Fatalf("%s: JSON: %v", c.name, err)
		}
		if !reflect.DeepEqual(fromFile[0], fromJSON) {
			t.Errorf("%s:\nclients file %+v\nadmin API    %+v", c.name, fromFile[0], fromJSON)
		}
	}
	for _, bad := range []string{`{"id":"a","scope":["x"]}`, `{"id":"a","secrets":[{"id":"s","secret_env":"X"}]}`, `{"id":"a"} {}`} {
		if _, err := adminhttp.DecodeClient([]byte(bad)); err == nil {
			t.Errorf("%s accepted: an unknown key or a second value must be refused, as in a clients file", bad)
		}
	}
}
