package contract

import (
	"slices"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/test/fakes"
)

// ExchangeLedger checks an application.ExchangeLedger. newLedger returns
// an empty ledger that judges expiry by clock.
func ExchangeLedger(t *testing.T, newLedger func(t *testing.T, clock *fakes.Clock) application.ExchangeLedger) {
	setup := func(t *testing.T) (application.ExchangeLedger, *fakes.Clock, time.Time) {
		now := time.Now().UTC().Truncate(time.Second)
		clock := fakes.NewClock(now)
		return newLedger(t, clock), clock, now
	}
	record := func(t *testing.T, l application.ExchangeLedger, parent, child string, exp time.Time) {
		t.Helper()
		if err := l.RecordExchange(t.Context(), parent, application.ExchangedToken{JTI: child, ExpiresAt: exp}); err != nil {
			t.Fatalf("RecordExchange(%s, %s): %v", parent, child, err)
		}
	}
	children := func(t *testing.T, l application.ExchangeLedger, parent string) []string {
		t.Helper()
		got, err := l.ExchangedFrom(t.Context(), parent)
		if err != nil {
			t.Fatalf("ExchangedFrom(%s): %v", parent, err)
		}
		var ids []string
		for _, c := range got {
			ids = append(ids, c.JTI)
		}
		slices.Sort(ids)
		return ids
	}

	t.Run("a parent lists its own children with their expiry, no others", func(t *testing.T) {
		l, _, now := setup(t)
		record(t, l, "p1", "c1", now.Add(time.Hour))
		record(t, l, "p1", "c2", now.Add(2*time.Hour))
		record(t, l, "p2", "c3", now.Add(time.Hour))
		if got := children(t, l, "p1"); !slices.Equal(got, []string{"c1", "c2"}) {
			t.Errorf("children of p1 = %v, want [c1 c2]", got)
		}
		got, err := l.ExchangedFrom(t.Context(), "p2")
		if err != nil || len(got) != 1 || !got[0].ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Errorf("children of p2 = %+v, %v; want c3 expiring %v", got, err, now.Add(time.Hour))
		}
		if got := children(t, l, "c1"); len(got) != 0 {
			t.Errorf("children of a token nothing was exchanged from = %v", got)
		}
	})

	t.Run("recording the same exchange twice lists it once", func(t *testing.T) {
		l, _, now := setup(t)
		record(t, l, "p", "c", now.Add(time.Hour))
		record(t, l, "p", "c", now.Add(time.Hour))
		if got := children(t, l, "p"); !slices.Equal(got, []string{"c"}) {
			t.Errorf("children = %v, want [c]", got)
		}
	})

	t.Run("an expired child is no longer listed", func(t *testing.T) {
		l, clock, now := setup(t)
		record(t, l, "p", "short", now.Add(shortLife))
		record(t, l, "p", "long", now.Add(time.Hour))
		clock.Advance(time.Second)
		if !eventually(t, func() bool { return slices.Equal(children(t, l, "p"), []string{"long"}) }) {
			t.Errorf("children %v after one expired = %v, want [long]", waitLimit, children(t, l, "p"))
		}
	})
}
