package domain_test

import (
	"errors"
	"testing"

	"github.com/sigilauth/sigil/domain"
)

func TestNormalizeCountryCode(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"aus", "AUS"},
		{"AUS", "AUS"},
		{"aUs", "AUS"},
		{"AU", "AU"},
		{"au", "AU"},
		{"zZ", "ZZ"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := domain.NormalizeCountryCode(tt.in)
			if err != nil {
				t.Fatalf("NormalizeCountryCode(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("NormalizeCountryCode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeCountryCodeRejects(t *testing.T) {
	for _, in := range []string{
		"", "A", "ABCD", "A1", "12", "A-U", "AU ", " AU", "ÄÖ", "Ä", "AÄ", "a\x00",
		"@AU", "[A", "`A", "{A", // neighbours of the letter ranges
	} {
		t.Run(in, func(t *testing.T) {
			got, err := domain.NormalizeCountryCode(in)
			if !errors.Is(err, domain.ErrMalformedCountryCode) {
				t.Errorf("NormalizeCountryCode(%q) = %q, %v; want ErrMalformedCountryCode", in, got, err)
			}
		})
	}
}
