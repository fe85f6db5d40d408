package contract

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Registrations checks an application.RegistrationStore. newStore returns
// an empty store.
func Registrations(t *testing.T, newStore func(t *testing.T) application.RegistrationStore) {
	at := time.Date(2026, 12, 2, 6, 0, 0, 123456000, time.UTC)
	r := domain.ClientRegistration{ClientID: "c1", TokenHash: bytes.Repeat([]byte{7}, 32), ClientName: "one", IssuedAt: at}
	t.Run("unknown is not found", func(t *testing.T) {
		if _, err := newStore(t).FindRegistration(t.Context(), "c1"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("FindRegistration = %v, want domain.ErrNotFound", err)
		}
	})
	t.Run("saved reads back whole; a second save replaces", func(t *testing.T) {
		s := newStore(t)
		if err := s.SaveRegistration(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		other := r
		other.ClientID, other.TokenHash = "c2", bytes.Repeat([]byte{9}, 32)
		if err := s.SaveRegistration(t.Context(), other); err != nil {
			t.Fatal(err)
		}
		renamed := r
		renamed.ClientName = "renamed"
		if err := s.SaveRegistration(t.Context(), renamed); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindRegistration(t.Context(), "c1")
		if err != nil || got.ClientName != "renamed" || !bytes.Equal(got.TokenHash, r.TokenHash) || !got.IssuedAt.Equal(at) {
			t.Fatalf("FindRegistration = %+v, %v; want %+v", got, err, renamed)
		}
		if got, _ := s.FindRegistration(t.Context(), "c2"); !bytes.Equal(got.TokenHash, other.TokenHash) {
			t.Errorf("c2's hash = %x, want its own", got.TokenHash)
		}
	})
	t.Run("deleted is not found; deleting twice is no error", func(t *testing.T) {
		s := newStore(t)
		if err := s.SaveRegistration(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := s.DeleteRegistration(t.Context(), "c1"); err != nil {
				t.Fatalf("DeleteRegistration: %v", err)
			}
		}
		if _, err := s.FindRegistration(t.Context(), "c1"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("after delete: %v, want domain.ErrNotFound", err)
		}
	})
}
