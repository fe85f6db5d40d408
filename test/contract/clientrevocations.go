package contract

import (
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// ClientRevocations checks an application.ClientRevocationStore. newStore
// returns an empty store.
func ClientRevocations(t *testing.T, newStore func(t *testing.T) application.ClientRevocationStore) {
	t0 := time.Date(2026, 12, 2, 5, 0, 0, 123456000, time.UTC)
	list := func(t *testing.T, s application.ClientRevocationStore) []domain.Event {
		t.Helper()
		got, err := s.ListClientRevocations(t.Context())
		if err != nil {
			t.Fatalf("ListClientRevocations: %v", err)
		}
		return got
	}
	t.Run("empty", func(t *testing.T) {
		if got := list(t, newStore(t)); len(got) != 0 {
			t.Errorf("a new store lists %v", got)
		}
	})
	t.Run("each client once with its latest time, ordered by id", func(t *testing.T) {
		s := newStore(t)
		for _, r := range []struct {
			id string
			at time.Time
		}{{"b", t0}, {"a", t0}, {"b", t0.Add(time.Hour)}} {
			if err := s.RevokeClientTokens(t.Context(), r.id, r.at); err != nil {
				t.Fatalf("RevokeClientTokens(%s): %v", r.id, err)
			}
		}
		got := list(t, s)
		want := []domain.Event{
			{Kind: domain.EventClientTokensRevoked, ClientID: "a", IssuedBefore: t0},
			{Kind: domain.EventClientTokensRevoked, ClientID: "b", IssuedBefore: t0.Add(time.Hour)},
		}
		if len(got) != len(want) {
			t.Fatalf("listed %v, want %v", got, want)
		}
		for i := range want {
			if got[i].Kind != want[i].Kind || got[i].ClientID != want[i].ClientID || !got[i].IssuedBefore.Equal(want[i].IssuedBefore) {
				t.Errorf("entry %d = %+v, want %+v (to the microsecond)", i, got[i], want[i])
			}
		}
	})
}
