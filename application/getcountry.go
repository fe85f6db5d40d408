package application

import (
	"context"

	"github.com/sigilauth/sigil/domain"
)

// GetCountry finds one country by alpha-2 or alpha-3 code, in any case.
type GetCountry struct {
	traced
	countries CountryFinder
}

// NewGetCountry builds the use case.
func NewGetCountry(countries CountryFinder) *GetCountry { return &GetCountry{countries: countries} }

// Handle returns the country, domain.ErrMalformedCountryCode for a code
// that cannot be one, or domain.ErrNotFound.
func (h *GetCountry) Handle(ctx context.Context, code string) (_ domain.Country, err error) {
	ctx, end := h.span(ctx, "GetCountry")
	defer func() { end(err) }()

	norm, err := domain.NormalizeCountryCode(code)
	if err != nil {
		return domain.Country{}, err
	}
	return h.countries.FindCountry(ctx, norm)
}
