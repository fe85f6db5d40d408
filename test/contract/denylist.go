package contract

import (
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/test/fakes"
)

// DenyList checks an application.DenyList. newList returns an empty list
// that judges expiry by clock.
func DenyList(t *testing.T, newList func(t *testing.T, clock *fakes.Clock) application.DenyList) {
	setup := func(t *testing.T) (application.DenyList, *fakes.Clock, time.Time) {
		now := time.Now()
		clock := fakes.NewClock(now)
		return newList(t, clock), clock, now
	}
	deny := func(t *testing.T, list application.DenyList, jti string, until time.Time) {
		t.Helper()
		if err := list.Deny(t.Context(), jti, until); err != nil {
			t.Fatalf("Deny(%s): %v", jti, err)
		}
	}
	denied := func(t *testing.T, list application.DenyList, jti string) bool {
		t.Helper()
		d, err := list.IsDenied(t.Context(), jti)
		if err != nil {
			t.Fatalf("IsDenied(%s): %v", jti, err)
		}
		return d
	}

	t.Run("a denied jti is denied and no other", func(t *testing.T) {
		list, _, now := setup(t)
		const jti = "8c5e5b4e-7d3a-4a43-9a43-0f4d1a2b3c4d"
		deny(t, list, jti, now.Add(time.Hour))

		if !denied(t, list, jti) {
			t.Errorf("IsDenied(%s) = false after Deny", jti)
		}
		for _, other := range []string{"8c5e5b4e-7d3a-4a43-9a43-0f4d1a2b3c4", jti + "0", strings.ToUpper(jti), ""} {
			if denied(t, list, other) {
				t.Errorf("IsDenied(%q) = true, but only %s was denied", other, jti)
			}
		}
	})

	t.Run("an expiry already past denies nothing", func(t *testing.T) {
		list, _, now := setup(t)
		deny(t, list, "dead", now.Add(-time.Second))
		if denied(t, list, "dead") {
			t.Error("IsDenied = true for a jti denied until a time already past")
		}
	})

	t.Run("a denial ends when the token expires", func(t *testing.T) {
		list, clock, now := setup(t)
		deny(t, list, "short", now.Add(shortLife))
		deny(t, list, "long", now.Add(time.Hour))

		clock.Advance(time.Second)
		if !eventually(t, func() bool { return !denied(t, list, "short") }) {
			t.Errorf("IsDenied still true %v after the expiry", waitLimit)
		}
		if !denied(t, list, "long") {
			t.Error("IsDenied = false for a jti denied for an hour")
		}
	})

	t.Run("denying again never shortens a denial", func(t *testing.T) {
		list, clock, now := setup(t)
		deny(t, list, "jti", now.Add(time.Hour))
		deny(t, list, "jti", now.Add(shortLife))
		deny(t, list, "jti", now.Add(-time.Second))

		clock.Advance(time.Second)
		if !denied(t, list, "jti") {
			t.Error("IsDenied = false: a later, shorter Deny cut the first one short")
		}
	})

	t.Run("denying again with a later expiry extends the denial", func(t *testing.T) {
		list, clock, now := setup(t)
		deny(t, list, "jti", now.Add(shortLife))
		deny(t, list, "jti", now.Add(time.Hour))

		clock.Advance(time.Second)
		if !denied(t, list, "jti") {
			t.Error("IsDenied = false: the later, longer Deny did not extend the first")
		}
	})
}
