package application

import (
	"context"
	"math"

	"github.com/sigilauth/sigil/domain"
)

// Paging limits for ListCountries.
const (
	DefaultPageSize = 50
	MaxPageSize     = 250
)

// ListCountriesInput asks for one page, counted from 1.
type ListCountriesInput struct {
	Page     int
	PageSize int
}

// CountryPage is one page of countries.
type CountryPage struct {
	Countries []domain.Country
	Page      int
	PageSize  int
	Total     int
}

// ListCountries pages through all countries in alpha-3 order.
type ListCountries struct {
	traced
	countries CountryFinder
}

// NewListCountries builds the use case.
func NewListCountries(countries CountryFinder) *ListCountries {
	return &ListCountries{countries: countries}
}

// Handle returns the page asked for; page and size outside their range
// are invalid_request.
func (h *ListCountries) Handle(ctx context.Context, in ListCountriesInput) (_ CountryPage, err error) {
	ctx, end := h.span(ctx, "ListCountries")
	defer func() { end(err) }()

	if in.Page == 0 {
		in.Page = 1
	}
	if in.PageSize == 0 {
		in.PageSize = DefaultPageSize
	}
	if in.Page < 1 || in.PageSize < 1 || in.PageSize > MaxPageSize {
		return CountryPage{}, domain.ErrInvalidRequest.With("page must be at least 1 and page_size between 1 and 250")
	}
	// (page-1)*page_size must not overflow into a negative offset.
	if in.Page-1 > math.MaxInt/in.PageSize {
		return CountryPage{}, domain.ErrInvalidRequest.With("page is too large")
	}
	list, total, err := h.countries.ListCountries(ctx, (in.Page-1)*in.PageSize, in.PageSize)
	if err != nil {
		return CountryPage{}, err
	}
	return CountryPage{Countries: list, Page: in.Page, PageSize: in.PageSize, Total: total}, nil
}
