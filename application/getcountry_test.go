package application_test

import (
	"errors"
	"testing"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

var (
	australia = domain.Country{Alpha3: "AUS", Alpha2: "AU", Name: "AUSTRALIA"}
	austria   = domain.Country{Alpha3: "AUT", Alpha2: "AT", Name: "AUSTRIA"}
	belgium   = domain.Country{Alpha3: "BEL", Alpha2: "BE", Name: "BELGIUM"}
	canada    = domain.Country{Alpha3: "CAN", Alpha2: "CA", Name: "CANADA"}
	denmark   = domain.Country{Alpha3: "DNK", Alpha2: "DK", Name: "DENMARK"}
)

// fiveCountries is given out of order, as a table need not keep it.
func fiveCountries() *fakes.Countries {
	return fakes.NewCountries(denmark, australia, canada, austria, belgium)
}

func TestGetCountry(t *testing.T) {
	get := application.NewGetCountry(fiveCountries())
	tests := []struct {
		code string
		want domain.Country
	}{
		{"AUS", australia}, // the seed's request
		{"aus", australia},
		{"aUs", australia},
		{"AU", australia},
		{"au", australia},
		{"AT", austria},
		{"dnk", denmark},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			got, err := get.Handle(t.Context(), tt.code)
			if err != nil {
				t.Fatalf("GetCountry(%q): %v", tt.code, err)
			}
			if got != tt.want {
				t.Errorf("GetCountry(%q) = %+v, want %+v", tt.code, got, tt.want)
			}
		})
	}
}

func TestGetCountryErrors(t *testing.T) {
	get := application.NewGetCountry(fiveCountries())
	tests := []struct {
		code string
		want error
	}{
		{"", domain.ErrMalformedCountryCode},
		{"A", domain.ErrMalformedCountryCode},
		{"AUST", domain.ErrMalformedCountryCode},
		{"A1", domain.ErrMalformedCountryCode},
		{"ÄÖ", domain.ErrMalformedCountryCode},
		{"AU%", domain.ErrMalformedCountryCode},
		{"ZZZ", domain.ErrNotFound},
		{"zz", domain.ErrNotFound},
		{"FRA", domain.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			got, err := get.Handle(t.Context(), tt.code)
			if !errors.Is(err, tt.want) {
				t.Errorf("GetCountry(%q) = %+v, %v; want %v", tt.code, got, err, tt.want)
			}
		})
	}
}
