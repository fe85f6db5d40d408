package domain

import "strings"

// Country is an ISO 3166-1 country.
type Country struct {
	Alpha3 string
	Alpha2 string
	Name   string
}

// NormalizeCountryCode upper-cases an alpha-2 or alpha-3 code, or returns
// ErrMalformedCountryCode if code is not two or three ASCII letters.
func NormalizeCountryCode(code string) (string, error) {
	if len(code) != 2 && len(code) != 3 {
		return "", ErrMalformedCountryCode
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return "", ErrMalformedCountryCode
		}
	}
	return strings.ToUpper(code), nil
}
