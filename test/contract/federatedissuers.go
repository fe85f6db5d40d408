package contract

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// FederatedIssuers checks an application.FederatedIssuerStore. newStore
// returns an empty store.
func FederatedIssuers(t *testing.T, newStore func(t *testing.T) application.FederatedIssuerStore) {
	full := application.FederatedIssuerSpec{
		Issuer: "https://k8s.example", JWKS: `{"keys":[]}`, Audiences: []string{"https://sigil.example"},
		Algorithms: []string{"ES256", "RS256"}, MaxLifetime: "30m", AllowReuse: true, SubjectTokenScopes: []string{"orders.read"},
		Clients: []application.FederationMapping{
			{Client: "orders", Subject: "system:serviceaccount:shop:orders"},
			{Client: "ci", Claims: map[string]string{"repository": "acme/shop", "ref": "refs/heads/main"}},
		},
	}
	t.Run("empty lists none; unknown delete is not found", func(t *testing.T) {
		s := newStore(t)
		if got, err := s.ListFederatedIssuers(t.Context()); err != nil || len(got) != 0 {
			t.Fatalf("ListFederatedIssuers = %v, %v; want none", got, err)
		}
		if err := s.DeleteFederatedIssuer(t.Context(), full.Issuer); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("DeleteFederatedIssuer = %v, want domain.ErrNotFound", err)
		}
	})
	t.Run("saved reads back whole, ordered by issuer; a second save replaces", func(t *testing.T) {
		s := newStore(t)
		other := application.FederatedIssuerSpec{Issuer: "https://ci.example", DiscoveryURL: "https://ci.example/.well-known/openid-configuration",
			Clients: []application.FederationMapping{{Client: "ci", Subject: "repo:acme/shop"}}}
		for _, tc := range []struct {
			spec application.FederatedIssuerSpec
			want bool
		}{{full, true}, {other, true}} {
			if created, err := s.SaveFederatedIssuer(t.Context(), tc.spec); err != nil || created != tc.want {
				t.Fatalf("SaveFederatedIssuer(%s) = %v, %v; want created %v", tc.spec.Issuer, created, err, tc.want)
			}
		}
		got, err := s.ListFederatedIssuers(t.Context())
		if err != nil || len(got) != 2 || !reflect.DeepEqual(got[0], other) || !reflect.DeepEqual(got[1], full) {
			t.Fatalf("ListFederatedIssuers = %+v, %v\nwant %+v and %+v", got, err, other, full)
		}
		changed := full
		changed.JWKS, changed.JWKSURI, changed.Clients = "", "https://k8s.example/openid/v1/jwks", full.Clients[:1]
		if created, err := s.SaveFederatedIssuer(t.Context(), changed); err != nil || created {
			t.Fatalf("second SaveFederatedIssuer = %v, %v; want a replacement", created, err)
		}
		got, _ = s.ListFederatedIssuers(t.Context())
		if len(got) != 2 || !reflect.DeepEqual(got[1], changed) {
			t.Fatalf("after replacing: %+v, want %+v", got, changed)
		}
	})
	t.Run("deleted is gone; the others stay", func(t *testing.T) {
		s := newStore(t)
		other := full
		other.Issuer = "https://other.example"
		for _, spec := range []application.FederatedIssuerSpec{full, other} {
			if _, err := s.SaveFederatedIssuer(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteFederatedIssuer(t.Context(), full.Issuer); err != nil {
			t.Fatalf("DeleteFederatedIssuer: %v", err)
		}
		if err := s.DeleteFederatedIssuer(t.Context(), full.Issuer); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("second delete = %v, want domain.ErrNotFound", err)
		}
		got, _ := s.ListFederatedIssuers(t.Context())
		if len(got) != 1 || got[0].Issuer != other.Issuer {
			t.Fatalf("after delete: %+v, want only %s", got, other.Issuer)
		}
	})
	t.Run("a list is the store's copy", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.SaveFederatedIssuer(t.Context(), full); err != nil {
			t.Fatal(err)
		}
		got, _ := s.ListFederatedIssuers(t.Context())
		got[0].Clients[1].Claims["ref"] = "refs/heads/evil"
		again, _ := s.ListFederatedIssuers(t.Context())
		if again[0].Clients[1].Claims["ref"] != "refs/heads/main" {
			t.Fatal("changing a listed entry changed the stored one")
		}
	})
}
