package bootstrap

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/echohttp"
)

func TestReadyAllNamesWhatIsDownWithinASecond(t *testing.T) {
	hangs := readiness{name: "redis", check: func(ctx context.Context) error {
		<-ctx.Done() // a frozen dependency: only the deadline ends the wait
		return ctx.Err()
	}}
	refuses := readiness{name: "database", check: func(context.Context) error { return errors.New("connection refused") }}
	fine := readiness{name: "other", check: func(context.Context) error { return nil }}

	start := time.Now()
	err := readyAll(fine, hangs, readiness{}, refuses)(t.Context())
	took := time.Since(start)
	var nr *echohttp.NotReady
	if !errors.As(err, &nr) || !slices.Equal(nr.Down, []string{"redis", "database"}) {
		t.Fatalf("readyAll = %v, want redis and database down", err)
	}
	if took > time.Second {
		t.Errorf("readyAll took %v with a hanging check, want under a second", took)
	}
	if err := readyAll(fine, readiness{})(t.Context()); err != nil {
		t.Errorf("readyAll of healthy checks = %v", err)
	}
}
