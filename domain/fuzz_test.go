package domain_test

// Fuzz targets for the domain's readers of caller input: the scope
// parameter, country codes in the resource path, and resource indicators.
// Each is checked against a plain reading of its RFC's grammar.

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/domain"
)

// scopeTokenRE is RFC 6749 §3.3's scope-token.
var scopeTokenRE = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)

// FuzzParseScopes checks ParseScopes against RFC 6749 §3.3 read plainly:
// split on spaces, drop empty fields, every other field a scope-token;
// the result is those tokens sorted and without duplicates (nil for none),
// and its String form parses to itself. Any failure is invalid_scope and
// comes with no scopes.
func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"", "country.read", "b a b", "  a   b  ", "a\tb", "a\"b", "a\\b", "\x7f", "ü", "a  ", "!#[]~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := domain.ParseScopes(s)
		var want []string
		valid := true
		for _, field := range strings.Split(s, " ") {
			if field == "" {
				continue
			}
			if !scopeTokenRE.MatchString(field) {
				valid = false
				break
			}
			want = append(want, field)
		}
		if !valid {
			if err == nil || got != nil || !errors.Is(err, domain.ErrInvalidScope) {
				t.Fatalf("ParseScopes(%q) = %q, %v; want invalid_scope", s, got, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseScopes(%q) = %v; every field is a scope-token", s, err)
		}
		sort.Strings(want)
		want = slices.Compact(want)
		if len(want) == 0 {
			if got != nil {
				t.Fatalf("ParseScopes(%q) = %#v, want nil", s, got)
			}
			return
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ParseScopes(%q) = %q, want %q", s, got, want)
		}
		again, err := domain.ParseScopes(got.String())
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("ParseScopes(%q) = %q, %v; want %q", got.String(), again, err, got)
		}
		for _, tok := range want {
			if !got.Contains(tok) {
				t.Fatalf("%q does not contain its own %q", got, tok)
			}
		}
	})
}

var countryCodeRE = regexp.MustCompile(`^[A-Za-z]{2,3}$`)

// FuzzNormalizeCountryCode checks that only two or three ASCII letters are
// taken, upper-cased, and that anything else is ErrMalformedCountryCode
// with no code.
func FuzzNormalizeCountryCode(f *testing.F) {
	for _, s := range []string{"de", "DEU", "dEu", "d", "deut", "d1", "dé", "\u212a\u212a", "", "de "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		got, err := domain.NormalizeCountryCode(code)
		if !countryCodeRE.MatchString(code) {
			if got != "" || err != domain.ErrMalformedCountryCode {
				t.Fatalf("NormalizeCountryCode(%q) = %q, %v; want ErrMalformedCountryCode", code, got, err)
			}
			return
		}
		if err != nil || got != strings.ToUpper(code) || len(got) != len(code) {
			t.Fatalf("NormalizeCountryCode(%q) = %q, %v; want %q", code, got, err, strings.ToUpper(code))
		}
	})
}

// FuzzTokenAudience checks how resource indicators (RFC 8707 §2) become a
// token's audience, for a client allowed two of them: a request's
// resources, separated here by newlines, give the sorted set of them when
// each is an absolute URI without a fragment that the client may ask for;
// anything else is invalid_target and no audience. ValidResourceIndicator
// itself must only pass what net/url reads as an absolute URI with a host
// or an opaque part and no fragment.
func FuzzTokenAudience(f *testing.F) {
	for _, s := range []string{
		"", "https://api.example.test", "urn:example:api\nhttps://api.example.test\nurn:example:api",
		"https://api.example.test#frag", "/relative", "https://", "mailto:", "https://other.example.test",
		"https://api.example.test\n", "HTTPS://api.example.test", "https://api.example.test/%zz",
	} {
		f.Add(s)
	}
	allowed := []string{"https://api.example.test", "urn:example:api"}
	c := domain.Client{ID: "svc-a", Resources: allowed, Audience: []string{"default-aud"}}
	f.Fuzz(func(t *testing.T, s string) {
		var resources []string
		if s != "" {
			resources = strings.Split(s, "\n")
		}
		for _, r := range resources {
			if !domain.ValidResourceIndicator(r) {
				continue
			}
			u, err := url.Parse(r)
			if err != nil || !u.IsAbs() || (u.Host == "" && u.Opaque == "") || u.Fragment != "" || strings.Contains(r, "#") {
				t.Fatalf("ValidResourceIndicator(%q) passes what is not an absolute URI without a fragment", r)
			}
		}
		got, err := c.TokenAudience(resources)
		if len(resources) == 0 {
			if err != nil || !slices.Equal(got, c.Audience) {
				t.Fatalf("TokenAudience(none) = %q, %v; want the default %q", got, err, c.Audience)
			}
			return
		}
		ok := true
		for _, r := range resources {
			ok = ok && slices.Contains(allowed, r)
		}
		if !ok {
			if err == nil || got != nil || !errors.Is(err, domain.ErrInvalidTarget) {
				t.Fatalf("TokenAudience(%q) = %q, %v; want invalid_target", resources, got, err)
			}
			return
		}
		want := slices.Clone(resources)
		slices.Sort(want)
		want = slices.Compact(want)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("TokenAudience(%q) = %q, %v; want %q", resources, got, err, want)
		}
	})
}
