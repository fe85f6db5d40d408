package application_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

func TestListCountries(t *testing.T) {
	list := application.NewListCountries(fiveCountries())
	tests := []struct {
		name string
		in   application.ListCountriesInput
		want application.CountryPage
	}{
		{"defaults", application.ListCountriesInput{},
			application.CountryPage{Countries: []domain.Country{australia, austria, belgium, canada, denmark}, Page: 1, PageSize: application.DefaultPageSize, Total: 5}},
		{"first page", application.ListCountriesInput{Page: 1, PageSize: 2},
			application.CountryPage{Countries: []domain.Country{australia, austria}, Page: 1, PageSize: 2, Total: 5}},
		{"page 2 of size 2", application.ListCountriesInput{Page: 2, PageSize: 2},
			application.CountryPage{Countries: []domain.Country{belgium, canada}, Page: 2, PageSize: 2, Total: 5}},
		{"last, partial page", application.ListCountriesInput{Page: 3, PageSize: 2},
			application.CountryPage{Countries: []domain.Country{denmark}, Page: 3, PageSize: 2, Total: 5}},
		{"past the end", application.ListCountriesInput{Page: 4, PageSize: 2},
			application.CountryPage{Page: 4, PageSize: 2, Total: 5}},
		{"default page size on page 1", application.ListCountriesInput{Page: 1},
			application.CountryPage{Countries: []domain.Country{australia, austria, belgium, canada, denmark}, Page: 1, PageSize: application.DefaultPageSize, Total: 5}},
		{"default page with a size", application.ListCountriesInput{PageSize: 3},
			application.CountryPage{Countries: []domain.Country{australia, austria, belgium}, Page: 1, PageSize: 3, Total: 5}},
		{"largest page size", application.ListCountriesInput{Page: 1, PageSize: application.MaxPageSize},
			application.CountryPage{Countries: []domain.Country{australia, austria, belgium, canada, denmark}, Page: 1, PageSize: application.MaxPageSize, Total: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := list.Handle(t.Context(), tt.in)
			if err != nil {
				t.Fatalf("ListCountries(%+v): %v", tt.in, err)
			}
			if got.Page != tt.want.Page || got.PageSize != tt.want.PageSize || got.Total != tt.want.Total {
				t.Errorf("page %d size %d total %d, want page %d size %d total %d",
					got.Page, got.PageSize, got.Total, tt.want.Page, tt.want.PageSize, tt.want.Total)
			}
			if !slices.Equal(got.Countries, tt.want.Countries) {
				t.Errorf("countries = %+v, want %+v", got.Countries, tt.want.Countries)
			}
		})
	}
}

func TestListCountriesInvalidPaging(t *testing.T) {
	list := application.NewListCountries(fiveCountries())
	tests := []struct {
		name string
		in   application.ListCountriesInput
	}{
		{"negative page", application.ListCountriesInput{Page: -1, PageSize: 2}},
		{"negative page size", application.ListCountriesInput{Page: 1, PageSize: -1}},
		{"page size above the maximum", application.ListCountriesInput{Page: 1, PageSize: application.MaxPageSize + 1}},
		{"huge page size", application.ListCountriesInput{Page: 1, PageSize: math.MaxInt}},
		{"smallest int page", application.ListCountriesInput{Page: math.MinInt, PageSize: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := list.Handle(t.Context(), tt.in)
			wantOAuthError(t, err, domain.ErrInvalidRequest)
			if got.Countries != nil {
				t.Errorf("rejected paging still listed %+v", got.Countries)
			}
		})
	}
}

// offsetGuard is a CountryFinder that records the offsets it is asked for
// and refuses negative ones, which no table can answer.
type offsetGuard struct {
	application.CountryFinder
	t *testing.T
}

func (g offsetGuard) ListCountries(ctx context.Context, offset, limit int) ([]domain.Country, int, error) {
	if offset < 0 || limit < 1 {
		g.t.Errorf("use case asked the store for offset %d, limit %d", offset, limit)
		return nil, 0, errors.New("negative offset")
	}
	return g.CountryFinder.ListCountries(ctx, offset, limit)
}

// A page number so large that (page-1)*page_size overflows must not wrap
// round to a negative offset (which SQL stores ignore, answering the
// first page under the wrong page number, and which panics a slice).
func TestListCountriesPageOverflow(t *testing.T) {
	list := application.NewListCountries(offsetGuard{CountryFinder: fiveCountries(), t: t})
	tests := []application.ListCountriesInput{
		{Page: math.MaxInt, PageSize: 2},
		{Page: math.MaxInt, PageSize: application.MaxPageSize},
		{Page: math.MaxInt/2 + 2, PageSize: 2},
	}
	for _, in := range tests {
		got, err := list.Handle(t.Context(), in)
		switch {
		case errors.Is(err, domain.ErrInvalidRequest):
			// Refusing the page is a fine answer.
		case err != nil:
			t.Errorf("ListCountries(%+v): %v, want invalid_request or an empty page", in, err)
		case len(got.Countries) != 0:
			t.Errorf("ListCountries(%+v) listed %+v, want no countries that far past the end", in, got.Countries)
		}
	}
}
