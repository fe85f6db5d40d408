package gormstore_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/domain"
)

// TestRegistrations: a saved registration reads back whole, a second save
// replaces it, and a deleted one is not found.
func TestRegistrations(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := gormstore.NewRegistrations(b.migrated(t))
			at := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
			r := domain.ClientRegistration{ClientID: "c1", TokenHash: bytes.Repeat([]byte{7}, 32), ClientName: "one", IssuedAt: at}
			if _, err := s.FindRegistration(ctx, "c1"); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("before save: %v, want not found", err)
			}
			if err := s.SaveRegistration(ctx, r); err != nil {
				t.Fatal(err)
			}
			r.ClientName = "renamed"
			if err := s.SaveRegistration(ctx, r); err != nil {
				t.Fatal(err)
			}
			got, err := s.FindRegistration(ctx, "c1")
			if err != nil || got.ClientName != "renamed" || !bytes.Equal(got.TokenHash, r.TokenHash) || !got.IssuedAt.Equal(at) {
				t.Fatalf("read back %+v %v", got, err)
			}
			if err := s.DeleteRegistration(ctx, "c1"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.FindRegistration(ctx, "c1"); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("after delete: %v, want not found", err)
			}
		})
	}
}
