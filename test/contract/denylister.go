package contract

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// ListingDenyList is a deny list that can list its entries.
type ListingDenyList interface {
	application.DenyList
	application.DenyLister
}

// DenyLister checks an application.DenyLister. newList returns an empty
// deny list that judges expiry by clock; the clock starts at the
// wall-clock time, as in DenyList.
func DenyLister(t *testing.T, newList func(t *testing.T, clock *fakes.Clock) ListingDenyList) {
	setup := func(t *testing.T) (ListingDenyList, *fakes.Clock, time.Time) {
		now := time.Now()
		clock := fakes.NewClock(now)
		return newList(t, clock), clock, now
	}
	deny := func(t *testing.T, list ListingDenyList, jti string, until time.Time) {
		t.Helper()
		if err := list.Deny(t.Context(), jti, until); err != nil {
			t.Fatalf("Deny(%s): %v", jti, err)
		}
	}
	listed := func(t *testing.T, list ListingDenyList) map[string]domain.Event {
		t.Helper()
		events, err := list.ListDenied(t.Context())
		if err != nil {
			t.Fatalf("ListDenied: %v", err)
		}
		byJTI := make(map[string]domain.Event, len(events))
		for _, e := range events {
			if _, dup := byJTI[e.JTI]; dup {
				t.Errorf("ListDenied lists %s twice", e.JTI)
			}
			byJTI[e.JTI] = e
		}
		return byJTI
	}
	// expiresAbout: a store counting real time (Redis) reports the expiry
	// as now plus what remains, so it may be early by the time the test
	// took, and late by its rounding to the millisecond.
	expiresAbout := func(t *testing.T, e domain.Event, want time.Time) {
		t.Helper()
		if e.Kind != domain.EventRevoked {
			t.Errorf("event for %s has kind %q, want %q", e.JTI, e.Kind, domain.EventRevoked)
		}
		if e.ExpiresAt.Before(want.Add(-time.Minute)) || e.ExpiresAt.After(want.Add(time.Second)) {
			t.Errorf("event for %s expires at %v, want %v", e.JTI, e.ExpiresAt, want)
		}
	}

	t.Run("an empty list lists nothing", func(t *testing.T) {
		list, _, _ := setup(t)
		if got := listed(t, list); len(got) != 0 {
			t.Errorf("ListDenied = %v, want nothing", got)
		}
	})

	t.Run("every live entry is listed with its expiry", func(t *testing.T) {
		list, _, now := setup(t)
		want := map[string]time.Time{
			"8c5e5b4e-7d3a-4a43-9a43-0f4d1a2b3c4d": now.Add(time.Hour),
			"opaque-jti-2":                         now.Add(2 * time.Hour),
			"jti with spaces and * [glob] chars?":  now.Add(3 * time.Hour),
		}
		for jti, until := range want {
			deny(t, list, jti, until)
		}
		got := listed(t, list)
		if len(got) != len(want) {
			t.Errorf("ListDenied lists %d entries, want %d: %v", len(got), len(want), got)
		}
		for jti, until := range want {
			e, ok := got[jti]
			if !ok {
				t.Errorf("%q is not listed", jti)
				continue
			}
			expiresAbout(t, e, until)
		}
	})

	t.Run("a longer denial is listed once with the longer expiry", func(t *testing.T) {
		list, _, now := setup(t)
		deny(t, list, "jti", now.Add(time.Hour))
		deny(t, list, "jti", now.Add(3*time.Hour))
		deny(t, list, "jti", now.Add(time.Minute))
		got := listed(t, list)
		if len(got) != 1 {
			t.Fatalf("ListDenied lists %d entries, want 1", len(got))
		}
		expiresAbout(t, got["jti"], now.Add(3*time.Hour))
	})

	t.Run("an expired entry is not listed", func(t *testing.T) {
		list, clock, now := setup(t)
		deny(t, list, "short", now.Add(shortLife))
		deny(t, list, "long", now.Add(time.Hour))
		clock.Advance(time.Second)
		ok := eventually(t, func() bool {
			got := listed(t, list)
			_, short := got["short"]
			return !short
		})
		if !ok {
			t.Fatalf("the expired entry is still listed after %v", waitLimit)
		}
		if got := listed(t, list); len(got) != 1 || got["long"].JTI != "long" {
			t.Errorf("ListDenied = %v, want only long", got)
		}
	})

	t.Run("hundreds of entries are all listed", func(t *testing.T) {
		list, _, now := setup(t)
		var want []string
		for i := range 300 {
			jti := fmt.Sprintf("jti-%03d", i)
			deny(t, list, jti, now.Add(time.Hour))
			want = append(want, jti)
		}
		got := listed(t, list)
		var jtis []string
		for jti := range got {
			jtis = append(jtis, jti)
		}
		slices.Sort(jtis)
		if !slices.Equal(jtis, want) {
			t.Errorf("ListDenied lists %d entries (%s ...), want the %d denied", len(jtis), strings.Join(jtis[:min(3, len(jtis))], " "), len(want))
		}
	})
}
