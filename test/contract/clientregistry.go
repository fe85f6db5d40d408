package contract

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// ClientStore is every port a client store serves: the registry the
// token endpoint reads and the administration ports.
type ClientStore interface {
	application.ClientRegistry
	application.ClientLister
	application.ClientDeleter
	application.ScopeLister
}

// ClientRegistry checks a ClientStore. newRegistry returns an empty store.
func ClientRegistry(t *testing.T, newRegistry func(t *testing.T) ClientStore) {
	t.Run("a saved client is found with every field", func(t *testing.T) {
		reg := newRegistry(t)
		want := fullClient()
		mustSaveClient(t, reg, want)

		got, err := reg.FindClient(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("FindClient: %v", err)
		}
		assertSameClient(t, got, want)
	})

	t.Run("the demo clients come back as seeded", func(t *testing.T) {
		reg := newRegistry(t)
		for _, d := range application.DemoClients() {
			c := d.Client
			c.Secrets = []domain.ClientSecret{{ID: "demo", Hash: "plain$" + d.Secret}}
			mustSaveClient(t, reg, c)
		}
		for _, d := range application.DemoClients() {
			got, err := reg.FindClient(t.Context(), d.Client.ID)
			if err != nil {
				t.Fatalf("FindClient(%s): %v", d.Client.ID, err)
			}
			want := d.Client
			want.Secrets = []domain.ClientSecret{{ID: "demo", Hash: "plain$" + d.Secret}}
			assertSameClient(t, got, want)
		}
	})

	t.Run("a client with nothing optional set keeps the defaults", func(t *testing.T) {
		reg := newRegistry(t)
		want := domain.Client{ID: "bare", TokenFormat: domain.FormatJWT}
		mustSaveClient(t, reg, want)

		got, err := reg.FindClient(t.Context(), "bare")
		if err != nil {
			t.Fatalf("FindClient: %v", err)
		}
		assertSameClient(t, got, want)
		if got.Lifetime() != domain.DefaultTokenLifetime {
			t.Errorf("Lifetime() = %v, want the default %v", got.Lifetime(), domain.DefaultTokenLifetime)
		}
		if aud, err := got.TokenAudience(nil); err != nil || !slices.Equal(aud, []string{"bare"}) {
			t.Errorf("TokenAudience(nil) = %v, %v; want the client id", aud, err)
		}
	})

	t.Run("scopes saved out of order come back normalised", func(t *testing.T) {
		reg := newRegistry(t)
		c := domain.Client{
			ID:            "unsorted",
			AllowedScopes: domain.Scopes{"customer.write", "country.read", "customer.read", "country.read"},
			DefaultScopes: domain.Scopes{"customer.read", "country.read"},
			TokenFormat:   domain.FormatJWT,
		}
		mustSaveClient(t, reg, c)

		got, err := reg.FindClient(t.Context(), c.ID)
		if err != nil {
			t.Fatalf("FindClient: %v", err)
		}
		// Scopes is a sorted set: Contains searches it by halves, and
		// would miss scopes a store handed back in another order.
		if want := domain.NewScopes("country.read", "customer.read", "customer.write"); !slices.Equal(got.AllowedScopes, want) {
			t.Errorf("AllowedScopes = %v, want %v", got.AllowedScopes, want)
		}
		if want := domain.NewScopes("country.read", "customer.read"); !slices.Equal(got.DefaultScopes, want) {
			t.Errorf("DefaultScopes = %v, want %v", got.DefaultScopes, want)
		}
	})

	t.Run("an unknown id is not found", func(t *testing.T) {
		reg := newRegistry(t)
		mustSaveClient(t, reg, fullClient())

		for _, id := range []string{"nobody", "Service-Client-JWT", "service-client-jw", ""} {
			if got, err := reg.FindClient(t.Context(), id); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("FindClient(%q) = %+v, %v; want domain.ErrNotFound", id, got, err)
			}
		}
	})

	t.Run("saving an id again replaces every field", func(t *testing.T) {
		reg := newRegistry(t)
		first := fullClient()
		mustSaveClient(t, reg, first)
		second := domain.Client{
			ID: first.ID,
			// One secret dropped, one kept under its id with a new hash and
			// no expiry or sealed copy any more.
			Secrets:       []domain.ClientSecret{{ID: first.Secrets[1].ID, Hash: "rotated-hash"}},
			AuthMethods:   []domain.AuthMethod{domain.AuthClientSecretPost},
			GrantTypes:    []domain.GrantType{domain.GrantClientCredentials},
			AllowedScopes: domain.NewScopes("country.read"),
			TokenFormat:   domain.FormatOpaque,
			TokenLifetime: 5 * time.Minute,
			CanIntrospect: false,
		}
		mustSaveClient(t, reg, second)

		got, err := reg.FindClient(t.Context(), first.ID)
		if err != nil {
			t.Fatalf("FindClient: %v", err)
		}
		assertSameClient(t, got, second)
	})

	t.Run("clients are kept apart", func(t *testing.T) {
		reg := newRegistry(t)
		a := fullClient()
		b := fullClient()
		b.ID, b.TokenFormat, b.CanIntrospect = "other", domain.FormatOpaque, false
		b.Secrets = []domain.ClientSecret{{ID: a.Secrets[0].ID, Hash: "other-hash"}}
		mustSaveClient(t, reg, a)
		mustSaveClient(t, reg, b)

		for _, want := range []domain.Client{a, b} {
			got, err := reg.FindClient(t.Context(), want.ID)
			if err != nil {
				t.Fatalf("FindClient(%s): %v", want.ID, err)
			}
			assertSameClient(t, got, want)
		}
	})

	t.Run("clients are listed by id with every field", func(t *testing.T) {
		reg := newRegistry(t)
		if got, err := reg.ListClients(t.Context()); err != nil || len(got) != 0 {
			t.Fatalf("ListClients of an empty store = %d clients, %v; want none", len(got), err)
		}
		var want []domain.Client
		for _, id := range []string{"zeta", "alpha", "Mu", "beta"} {
			c := fullClient()
			c.ID = id
			c.Secrets = []domain.ClientSecret{{ID: "s-" + id, Hash: "hash-of-" + id}}
			mustSaveClient(t, reg, c)
			want = append(want, c)
		}
		slices.SortFunc(want, func(a, b domain.Client) int { return strings.Compare(a.ID, b.ID) })

		got, err := reg.ListClients(t.Context())
		if err != nil {
			t.Fatalf("ListClients: %v", err)
		}
		var ids []string
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		// Byte order, as Go's and the databases' default collations agree
		// on it for ASCII ids: upper case first.
		if wantIDs := []string{"Mu", "alpha", "beta", "zeta"}; !slices.Equal(ids, wantIDs) {
			t.Fatalf("ListClients ids = %v, want %v", ids, wantIDs)
		}
		for i := range want {
			assertSameClient(t, got[i], want[i])
		}
	})

	t.Run("a deleted client is gone with its secrets", func(t *testing.T) {
		reg := newRegistry(t)
		gone := fullClient()
		kept := fullClient()
		kept.ID = "kept"
		mustSaveClient(t, reg, gone)
		mustSaveClient(t, reg, kept)

		if err := reg.DeleteClient(t.Context(), gone.ID); err != nil {
			t.Fatalf("DeleteClient: %v", err)
		}
		if _, err := reg.FindClient(t.Context(), gone.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("FindClient after DeleteClient error = %v, want domain.ErrNotFound", err)
		}
		if got, err := reg.ListClients(t.Context()); err != nil || len(got) != 1 || got[0].ID != kept.ID {
			t.Errorf("ListClients after DeleteClient = %v, %v; want only %s", got, err, kept.ID)
		}
		got, err := reg.FindClient(t.Context(), kept.ID)
		if err != nil {
			t.Fatalf("FindClient of the other client: %v", err)
		}
		assertSameClient(t, got, kept)

		// Registered again under the same id, the client does not get the
		// old secrets back.
		again := domain.Client{ID: gone.ID, TokenFormat: domain.FormatJWT}
		mustSaveClient(t, reg, again)
		got, err = reg.FindClient(t.Context(), gone.ID)
		if err != nil {
			t.Fatalf("FindClient of the client registered again: %v", err)
		}
		assertSameClient(t, got, again)
	})

	t.Run("deleting an unknown client is not found", func(t *testing.T) {
		reg := newRegistry(t)
		c := fullClient()
		mustSaveClient(t, reg, c)

		for _, id := range []string{"nobody", "Service-Client-JWT", ""} {
			if err := reg.DeleteClient(t.Context(), id); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("DeleteClient(%q) error = %v, want domain.ErrNotFound", id, err)
			}
		}
		if err := reg.DeleteClient(t.Context(), c.ID); err != nil {
			t.Fatalf("DeleteClient: %v", err)
		}
		if err := reg.DeleteClient(t.Context(), c.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("second DeleteClient error = %v, want domain.ErrNotFound", err)
		}
	})

	t.Run("the scopes listed are the union of the clients' allowed scopes", func(t *testing.T) {
		reg := newRegistry(t)
		if got, err := reg.ListScopes(t.Context()); err != nil || len(got) != 0 {
			t.Fatalf("ListScopes of an empty store = %v, %v; want none", got, err)
		}
		clients := []domain.Client{
			{ID: "a", AllowedScopes: domain.NewScopes("customer.read", "country.read"), DefaultScopes: domain.NewScopes("country.read"), TokenFormat: domain.FormatJWT},
			// Default scopes outside the allowed ones are not offered.
			{ID: "b", AllowedScopes: domain.NewScopes("customer.write", "customer.read"), DefaultScopes: domain.NewScopes("openid"), TokenFormat: domain.FormatJWT},
			{ID: "c", TokenFormat: domain.FormatOpaque},
		}
		for _, c := range clients {
			mustSaveClient(t, reg, c)
		}
		assertScopes(t, reg, domain.NewScopes("country.read", "customer.read", "customer.write"))

		// A scope only a deleted client had is no longer offered.
		if err := reg.DeleteClient(t.Context(), "b"); err != nil {
			t.Fatalf("DeleteClient: %v", err)
		}
		assertScopes(t, reg, domain.NewScopes("country.read", "customer.read"))
	})
}

func assertScopes(t *testing.T, reg ClientStore, want domain.Scopes) {
	t.Helper()
	got, err := reg.ListScopes(t.Context())
	if err != nil {
		t.Fatalf("ListScopes: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListScopes = %v, want %v", got, want)
	}
}

// fullClient sets every field to something other than its zero value,
// with several secrets: one that expires (at a time with microseconds),
// one that does not, and one sealed, whose bytes are not text.
func fullClient() domain.Client {
	return domain.Client{
		ID: "service-client-jwt",
		Secrets: []domain.ClientSecret{
			{
				ID:        "2026-05",
				Hash:      "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
				ExpiresAt: time.Date(2026, 6, 1, 0, 0, 0, 123456000, time.UTC),
			},
			{
				ID:   "2026-11",
				Hash: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
			},
			{
				ID:        "jwt",
				Hash:      "$argon2id$v=19$m=65536,t=3,p=2$b3RoZXJzYWx0$b3RoZXJoYXNo",
				Sealed:    []byte{0x00, 0xff, 0x80, '\'', '"', 0x00, 0x7f, 0xc3, 0x28},
				ExpiresAt: time.Date(2027, 1, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600)),
			},
		},
		AuthMethods:   []domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthClientSecretPost, domain.AuthClientSecretJWT, domain.AuthPrivateKeyJWT},
		GrantTypes:    []domain.GrantType{domain.GrantClientCredentials},
		AllowedScopes: domain.NewScopes("country.read", "customer.read", "customer.write"),
		DefaultScopes: domain.NewScopes("country.read"),
		Audience:      []string{"https://api.example.com", "urn:sigil:resource \"quoted\""},
		Resources:     []string{"http://localhost:8091/ms-system", "https://api.example.com/v2?tenant=a"},
		JWKS:          `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`,
		JWKSURI:       "https://client.example.com/.well-known/jwks.json",
		TokenFormat:   domain.FormatJWT,
		TokenLifetime: 4 * time.Hour,
		CanIntrospect: true,
		DPoPBound:     true,
		TLSSubject:    domain.TLSSubject{Kind: domain.TLSSubjectSANURI, Value: "spiffe://example.com/svc"},
		CertBound:     true,
		Profile:       domain.ProfileFAPI2,
	}
}

func mustSaveClient(t *testing.T, reg application.ClientSaver, c domain.Client) {
	t.Helper()
	if err := reg.SaveClient(t.Context(), c); err != nil {
		t.Fatalf("SaveClient(%s): %v", c.ID, err)
	}
}

// assertSameClient compares field by field: lists by content (nil and
// empty alike, as no caller can tell them apart), times by instant (a
// store may hand back another location), secrets in order.
func assertSameClient(t *testing.T, got, want domain.Client) {
	t.Helper()
	var diffs []string
	check := func(field string, same bool, g, w any) {
		if !same {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check("ID", got.ID == want.ID, got.ID, want.ID)
	check("Secrets", slices.EqualFunc(got.Secrets, want.Secrets, sameSecret), got.Secrets, want.Secrets)
	check("AuthMethods", slices.Equal(got.AuthMethods, want.AuthMethods), got.AuthMethods, want.AuthMethods)
	check("GrantTypes", slices.Equal(got.GrantTypes, want.GrantTypes), got.GrantTypes, want.GrantTypes)
	check("AllowedScopes", slices.Equal(got.AllowedScopes, want.AllowedScopes), got.AllowedScopes, want.AllowedScopes)
	check("DefaultScopes", slices.Equal(got.DefaultScopes, want.DefaultScopes), got.DefaultScopes, want.DefaultScopes)
	check("Audience", slices.Equal(got.Audience, want.Audience), got.Audience, want.Audience)
	check("Resources", slices.Equal(got.Resources, want.Resources), got.Resources, want.Resources)
	check("JWKS", got.JWKS == want.JWKS, got.JWKS, want.JWKS)
	check("JWKSURI", got.JWKSURI == want.JWKSURI, got.JWKSURI, want.JWKSURI)
	check("TokenFormat", got.TokenFormat == want.TokenFormat, got.TokenFormat, want.TokenFormat)
	check("TokenLifetime", got.TokenLifetime == want.TokenLifetime, got.TokenLifetime, want.TokenLifetime)
	check("CanIntrospect", got.CanIntrospect == want.CanIntrospect, got.CanIntrospect, want.CanIntrospect)
	check("DPoPBound", got.DPoPBound == want.DPoPBound, got.DPoPBound, want.DPoPBound)
	check("TLSSubject", got.TLSSubject == want.TLSSubject, got.TLSSubject, want.TLSSubject)
	check("CertBound", got.CertBound == want.CertBound, got.CertBound, want.CertBound)
	check("Profile", got.Profile == want.Profile, got.Profile, want.Profile)
	for _, d := range diffs {
		t.Error(d)
	}
}

func sameSecret(a, b domain.ClientSecret) bool {
	return a.ID == b.ID && a.Hash == b.Hash && bytes.Equal(a.Sealed, b.Sealed) && a.ExpiresAt.Equal(b.ExpiresAt)
}
