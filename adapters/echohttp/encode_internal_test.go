package echohttp

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// The hand-written encoders must write exactly what encoding/json writes
// for the structs that define the wire shapes, whatever the values. The
// introspection answer's own check is beside it, in adapters/internal/claims.

// FuzzTokenResponse checks appendTokenResponse against json.Marshal of
// tokenResponseJSON for any token response.
func FuzzTokenResponse(f *testing.F) {
	f.Add("eyJ.a.b", "Bearer", int64(14400), "country.read customer.read")
	f.Add("opaque-value", "Bearer", int64(0), "")
	f.Add("q\"uote\\<&>\u2028\x01", "Bearer", int64(-1), "é")
	f.Add("\xff\xe2\x80", "\ufffd", int64(1)<<62, " ")
	f.Fuzz(func(t *testing.T, accessToken, tokenType string, expiresIn int64, scope string) {
		out := application.IssuedToken{AccessToken: accessToken, TokenType: tokenType, ExpiresIn: expiresIn, Scope: scope}
		want, err := json.Marshal(toTokenResponseJSON(out))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendTokenResponse(nil, out); !bytes.Equal(got, want) {
			t.Errorf("token response\n got %s\nwant %s", got, want)
		}
	})
}

// FuzzCountry checks appendCountry against json.Marshal of countryJSON for
// any country.
func FuzzCountry(f *testing.F) {
	f.Add("AU", "AUS", "Australia")
	f.Add("CI", "CIV", "Côte d'Ivoire")
	f.Add("", "X\\Y", "<\"quoted\">")
	f.Add("\x00", "\xff", "\u2029")
	f.Fuzz(func(t *testing.T, alpha2, alpha3, name string) {
		c := domain.Country{Alpha2: alpha2, Alpha3: alpha3, Name: name}
		want, err := json.Marshal(toCountryJSON(c))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendCountry(nil, c); !bytes.Equal(got, want) {
			t.Errorf("country\n got %s\nwant %s", got, want)
		}
	})
}
