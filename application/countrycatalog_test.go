package application_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

type countingCountries struct {
	*fakes.Countries
	lists atomic.Int64
	err   error
}

func (c *countingCountries) ListCountries(ctx context.Context, offset, limit int) ([]domain.Country, int, error) {
	c.lists.Add(1)
	if c.err != nil {
		return nil, 0, c.err
	}
	return c.Countries.ListCountries(ctx, offset, limit)
}

func TestCountryCatalogServesFromMemoryAndRefreshes(t *testing.T) {
	clock := fakes.NewClock(t0)
	inner := &countingCountries{Countries: fakes.NewCountries(
		domain.Country{Alpha3: "AUS", Alpha2: "AU", Name: "AUSTRALIA"},
		domain.Country{Alpha3: "DEU", Alpha2: "DE", Name: "GERMANY"},
	)}
	cat := application.NewCountryCatalog(inner, clock, time.Minute)
	for _, code := range []string{"AUS", "AU", "DEU", "DE"} {
		if _, err := cat.FindCountry(t.Context(), code); err != nil {
			t.Fatalf("%s: %v", code, err)
		}
	}
	if _, err := cat.FindCountry(t.Context(), "ZZZ"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown code: %v", err)
	}
	page, total, err := cat.ListCountries(t.Context(), 1, 5)
	if err != nil || total != 2 || len(page) != 1 || page[0].Alpha3 != "DEU" {
		t.Fatalf("page %v total %d err %v", page, total, err)
	}
	if inner.lists.Load() != 1 {
		t.Fatalf("the table was read %d times, want once", inner.lists.Load())
	}
	clock.Advance(time.Minute)
	inner.err = errors.New("database down")
	if _, err := cat.FindCountry(t.Context(), "AUS"); err != nil {
		t.Fatalf("a failed refresh dropped the copy in memory: %v", err)
	}
	if inner.lists.Load() != 2 {
		t.Fatal("the table was not read again after the refresh interval")
	}
}

func TestCountryCatalogWithoutACopyReportsTheFailure(t *testing.T) {
	cat := application.NewCountryCatalog(fakes.BrokenCountries{}, fakes.NewClock(t0), time.Minute)
	_, err := cat.FindCountry(t.Context(), "AUS")
	wantInfraError(t, err, fakes.ErrDown)
	_, _, err = cat.ListCountries(t.Context(), 0, 10)
	wantInfraError(t, err, fakes.ErrDown)
}
