package application

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// CountryCatalog keeps the whole country table in memory, read again
// every refresh: it is reference data of a few hundred rows, read on every
// resource request, and changes only when an operator edits it.
type CountryCatalog struct {
	inner   CountryFinder
	clock   Clock
	refresh time.Duration

	mu      sync.RWMutex
	loaded  time.Time
	list    []domain.Country
	byCode  map[string]domain.Country
	loading sync.Mutex
}

// maxCountries bounds one load; ISO 3166-1 has under 250.
const maxCountries = 10_000

// NewCountryCatalog wraps inner.
func NewCountryCatalog(inner CountryFinder, clock Clock, refresh time.Duration) *CountryCatalog {
	return &CountryCatalog{inner: inner, clock: clock, refresh: refresh}
}

func (c *CountryCatalog) current(ctx context.Context) ([]domain.Country, map[string]domain.Country, error) {
	c.mu.RLock()
	list, byCode, loaded := c.list, c.byCode, c.loaded
	c.mu.RUnlock()
	if byCode != nil && c.clock.Now().Sub(loaded) < c.refresh {
		return list, byCode, nil
	}
	c.loading.Lock()
	defer c.loading.Unlock()
	c.mu.RLock()
	list, byCode, loaded = c.list, c.byCode, c.loaded
	c.mu.RUnlock()
	if byCode != nil && c.clock.Now().Sub(loaded) < c.refresh {
		return list, byCode, nil // another request loaded it meanwhile
	}
	fresh, _, err := c.inner.ListCountries(ctx, 0, maxCountries)
	if err != nil {
		if byCode != nil {
			return list, byCode, nil // keep serving the last copy
		}
		return nil, nil, fmt.Errorf("load countries: %w", err)
	}
	m := make(map[string]domain.Country, 2*len(fresh))
	for _, ct := range fresh {
		m[ct.Alpha3] = ct
		m[ct.Alpha2] = ct
	}
	c.mu.Lock()
	c.list, c.byCode, c.loaded = fresh, m, c.clock.Now()
	c.mu.Unlock()
	return fresh, m, nil
}

// FindCountry implements CountryFinder.
func (c *CountryCatalog) FindCountry(ctx context.Context, code string) (domain.Country, error) {
	_, byCode, err := c.current(ctx)
	if err != nil {
		return domain.Country{}, err
	}
	ct, ok := byCode[code]
	if !ok {
		return domain.Country{}, domain.ErrNotFound
	}
	return ct, nil
}

// ListCountries implements CountryFinder.
func (c *CountryCatalog) ListCountries(ctx context.Context, offset, limit int) ([]domain.Country, int, error) {
	list, _, err := c.current(ctx)
	if err != nil {
		return nil, 0, err
	}
	if offset >= len(list) {
		return nil, len(list), nil
	}
	end := min(offset+limit, len(list))
	return list[offset:end:end], len(list), nil
}

var _ CountryFinder = (*CountryCatalog)(nil)
