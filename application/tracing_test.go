package application_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// recordingTracer keeps the spans a use case reports, and marks the
// context it hands on so a test can see the use case went on with it.
type recordingTracer struct {
	started []string
	ended   []error
}

type spanKey struct{}

func (r *recordingTracer) Start(ctx context.Context, name string) (context.Context, func(error)) {
	r.started = append(r.started, name)
	return context.WithValue(ctx, spanKey{}, name), func(err error) { r.ended = append(r.ended, err) }
}

// contextSeeing is a country finder that notes the span in its context.
type contextSeeing struct {
	application.CountryFinder
	seen *[]any
}

func (c contextSeeing) FindCountry(ctx context.Context, code string) (domain.Country, error) {
	*c.seen = append(*c.seen, ctx.Value(spanKey{}))
	return c.CountryFinder.FindCountry(ctx, code)
}

func TestAUseCaseCallIsOneSpanEndedWithItsError(t *testing.T) {
	var seen []any
	h := application.NewGetCountry(contextSeeing{fakes.NewCountries(domain.Country{Alpha3: "AUS", Alpha2: "AU", Name: "AUSTRALIA"}), &seen})
	tr := &recordingTracer{}
	h.TraceTo(tr)

	if _, err := h.Handle(context.Background(), "AUS"); err != nil {
		t.Fatal(err)
	}
	_, err := h.Handle(context.Background(), "1")
	if !errors.Is(err, domain.ErrMalformedCountryCode) {
		t.Fatalf("got %v", err)
	}

	if len(tr.started) != 2 || tr.started[0] != "GetCountry" || len(tr.ended) != 2 {
		t.Fatalf("started %q, ended %v", tr.started, tr.ended)
	}
	if tr.ended[0] != nil || !errors.Is(tr.ended[1], domain.ErrMalformedCountryCode) {
		t.Errorf("spans ended with %v, want nil then the refusal", tr.ended)
	}
	// The storage call below runs in the span's context.
	if len(seen) != 1 || seen[0] != "GetCountry" {
		t.Errorf("the finder saw spans %v", seen)
	}
}
