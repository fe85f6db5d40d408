package domain_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/sigilauth/sigil/domain"
)

func TestParseScopes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want domain.Scopes
	}{
		{"empty gives nil", "", nil},
		{"only spaces give nil", "   ", nil},
		{"one scope", "country.read", domain.Scopes{"country.read"}},
		{"sorted", "customer.write country.read customer.read", domain.Scopes{"country.read", "customer.read", "customer.write"}},
		{"duplicates dropped", "country.read country.read", domain.Scopes{"country.read"}},
		{"runs of spaces tolerated", "  b   a  b ", domain.Scopes{"a", "b"}},
		// The edges of each range of RFC 6749 §3.3's NQCHAR-like set:
		// %x21 / %x23-5B / %x5D-7E.
		{"lowest and highest allowed characters", "! # [ ] ~", domain.Scopes{"!", "#", "[", "]", "~"}},
		{"punctuation inside a token", "urn:x-sigil:read/all?a=b&c", domain.Scopes{"urn:x-sigil:read/all?a=b&c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.ParseScopes(tt.in)
			if err != nil {
				t.Fatalf("ParseScopes(%q): %v", tt.in, err)
			}
			if tt.want == nil {
				if got != nil {
					t.Fatalf("ParseScopes(%q) = %#v, want nil", tt.in, got)
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseScopes(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseScopesRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"double quote %x22", `country"read`},
		{"backslash %x5C", `country\read`},
		{"tab is not a separator", "country.read\tcustomer.read"},
		{"newline", "country.read\n"},
		{"NUL", "country\x00read"},
		{"DEL %x7F", "country\x7fread"},
		{"non-ASCII letter", "café"},
		{"non-ASCII byte", "scope\x80"},
		{"one bad token among good ones", `country.read "x" customer.read`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.ParseScopes(tt.in)
			if !errors.Is(err, domain.ErrInvalidScope) {
				t.Fatalf("ParseScopes(%q) = %q, %v; want invalid_scope", tt.in, got, err)
			}
			if got != nil {
				t.Errorf("ParseScopes(%q) returned scopes %q with its error", tt.in, got)
			}
		})
	}
}

func TestNewScopesNormalises(t *testing.T) {
	in := []string{"b", "a", "b"}
	got := domain.NewScopes(in...)
	if want := (domain.Scopes{"a", "b"}); !slices.Equal(got, want) {
		t.Errorf("NewScopes(b, a, b) = %q, want %q", got, want)
	}
	if !slices.Equal(in, []string{"b", "a", "b"}) {
		t.Errorf("NewScopes modified its argument: %q", in)
	}
	if domain.NewScopes() != nil {
		t.Errorf("NewScopes() is not nil")
	}
}

func TestScopesString(t *testing.T) {
	tests := []struct {
		in   domain.Scopes
		want string
	}{
		{nil, ""},
		{domain.NewScopes("country.read"), "country.read"},
		{domain.NewScopes("customer.write", "country.read", "customer.read"), "country.read customer.read customer.write"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestScopesContains(t *testing.T) {
	s := domain.NewScopes("customer.write", "country.read", "customer.read")
	tests := []struct {
		scope string
		want  bool
	}{
		{"country.read", true},
		{"customer.read", true},
		{"customer.write", true},
		{"customer", false},
		{"country.read ", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := s.Contains(tt.scope); got != tt.want {
			t.Errorf("%q.Contains(%q) = %v, want %v", s, tt.scope, got, tt.want)
		}
	}
	if domain.Scopes(nil).Contains("country.read") {
		t.Errorf("nil scopes contain country.read")
	}
}

func TestScopesContainsAll(t *testing.T) {
	s := domain.NewScopes("country.read", "customer.read")
	tests := []struct {
		name  string
		other domain.Scopes
		want  bool
	}{
		{"nothing required", nil, true},
		{"subset", domain.NewScopes("country.read"), true},
		{"same set", domain.NewScopes("customer.read", "country.read"), true},
		{"one missing", domain.NewScopes("country.read", "customer.write"), false},
		{"disjoint", domain.NewScopes("customer.write"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.ContainsAll(tt.other); got != tt.want {
				t.Errorf("%q.ContainsAll(%q) = %v, want %v", s, tt.other, got, tt.want)
			}
		})
	}
	if domain.Scopes(nil).ContainsAll(domain.NewScopes("country.read")) {
		t.Errorf("nil scopes contain all of country.read")
	}
}
