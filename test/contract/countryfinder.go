package contract

import (
	"errors"
	"slices"
	"testing"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// CountryFinder checks an application.CountryFinder. newFinder returns a
// finder holding exactly domain.ISOCountries(), as a migrated database does.
func CountryFinder(t *testing.T, newFinder func(t *testing.T) application.CountryFinder) {
	all := domain.ISOCountries()
	australia := domain.Country{Alpha3: "AUS", Alpha2: "AU", Name: "AUSTRALIA"}

	t.Run("a country is found by its alpha-3 and its alpha-2 code", func(t *testing.T) {
		finder := newFinder(t)
		for _, code := range []string{"AUS", "AU"} {
			got, err := finder.FindCountry(t.Context(), code)
			if err != nil {
				t.Fatalf("FindCountry(%s): %v", code, err)
			}
			if got != australia {
				t.Errorf("FindCountry(%s) = %+v, want %+v", code, got, australia)
			}
		}
		// A name with a letter beyond ASCII survives the store's encoding.
		if got, err := finder.FindCountry(t.Context(), "CIV"); err != nil || got.Name != "CÔTE D'IVOIRE" {
			t.Errorf("FindCountry(CIV) = %+v, %v; want CÔTE D'IVOIRE", got, err)
		}
	})

	t.Run("an unknown code is not found", func(t *testing.T) {
		finder := newFinder(t)
		// AUX starts like Australia's codes; XK (Kosovo) is in use but not in ISO 3166-1.
		for _, code := range []string{"ZZZ", "ZZ", "XK", "AUX"} {
			if got, err := finder.FindCountry(t.Context(), code); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("FindCountry(%s) = %+v, %v; want domain.ErrNotFound", code, got, err)
			}
		}
	})

	t.Run("pages cover every country once in alpha-3 order", func(t *testing.T) {
		finder := newFinder(t)
		const size = 50
		var got []domain.Country
		for offset := 0; offset < len(all)+size; offset += size {
			page, total, err := finder.ListCountries(t.Context(), offset, size)
			if err != nil {
				t.Fatalf("ListCountries(%d, %d): %v", offset, size, err)
			}
			if total != len(all) {
				t.Errorf("ListCountries(%d, %d) total = %d, want %d", offset, size, total, len(all))
			}
			if want := min(size, max(len(all)-offset, 0)); len(page) != want {
				t.Errorf("ListCountries(%d, %d) = %d countries, want %d", offset, size, len(page), want)
			}
			got = append(got, page...)
		}
		if !slices.Equal(got, all) {
			t.Errorf("paging gave %d countries, not the %d ISO countries in alpha-3 order", len(got), len(all))
		}
	})

	t.Run("a page starts at its offset", func(t *testing.T) {
		finder := newFinder(t)
		page, total, err := finder.ListCountries(t.Context(), 10, 3)
		if err != nil {
			t.Fatalf("ListCountries: %v", err)
		}
		if total != len(all) || !slices.Equal(page, all[10:13]) {
			t.Errorf("ListCountries(10, 3) = %v, %d; want %v, %d", page, total, all[10:13], len(all))
		}
	})
}
