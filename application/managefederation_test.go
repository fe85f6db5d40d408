package application_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

const fileIssuer = "https://file.example"

// managedFederation is a Federation trusting fileIssuer from its file and
// whatever its store holds, with the use cases that manage the store.
type managedFederation struct {
	clock  *fakes.Clock
	tokens *fakes.FederatedTokens
	store  *fakes.FederatedIssuers
	events *fakes.Events
	audits *fakes.Auditor
	fed    *application.Federation
	auth   *application.AuthenticateClient
	apply  *application.ApplyFederatedIssuer
	delete *application.DeleteFederatedIssuer
	list   *application.ListFederatedIssuers
}

func newManagedFederation(t *testing.T) *managedFederation {
	t.Helper()
	m := &managedFederation{
		clock:  fakes.NewClock(time.Unix(1_800_000_000, 0)),
		tokens: &fakes.FederatedTokens{Tokens: map[string]application.FederatedToken{}, Alg: "ES256"},
		store:  fakes.NewFederatedIssuers(), events: &fakes.Events{}, audits: &fakes.Auditor{},
	}
	clients := fakes.NewClients()
	for _, id := range []string{"orders", "billing"} {
		_ = clients.SaveClient(context.Background(), domain.Client{
			ID: id, AuthMethods: []domain.AuthMethod{domain.AuthFederatedJWT}, GrantTypes: cc, TokenFormat: domain.FormatOpaque,
		})
	}
	rules := application.FederationRules{DefaultAudiences: []string{fedAud}, Algorithms: []string{"ES256", "RS256"}}
	file, err := rules.Check(application.FederatedIssuerSpec{Issuer: fileIssuer,
		Clients: []application.FederationMapping{{Client: "billing", Subject: "billing"}}})
	if err != nil {
		t.Fatal(err)
	}
	m.fed = application.NewFederation([]application.FederatedIssuer{file}, m.tokens, clients, application.NewMemoryReplayGuard(m.clock, 100), m.clock)
	m.fed.Manage(m.store, rules)
	m.auth, err = application.NewAuthenticateClient(clients, fakes.Hasher{}, m.clock, application.AssertionSupport{
		Verifier: fakes.AssertionVerifier{}, Box: fakes.Box{}, Replays: application.NewMemoryReplayGuard(m.clock, 100), Audiences: []string{fedAud},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.auth.Federate(m.fed)
	m.apply = application.NewApplyFederatedIssuer(m.store, m.fed, m.events)
	m.apply.AuditTo(m.audits)
	m.delete = application.NewDeleteFederatedIssuer(m.store, m.fed, m.events)
	m.delete.AuditTo(m.audits)
	m.list = application.NewListFederatedIssuers(m.store)
	return m
}

// assert authenticates with a fresh token of iss for sub.
func (m *managedFederation) assert(t *testing.T, iss, sub string) (domain.Client, error) {
	t.Helper()
	now := m.clock.Now()
	raw := fakes.Assertion{Claims: domain.ClientAssertion{Issuer: iss, ID: sub + "-" + string(rune('a'+len(m.tokens.Tokens)))}}.Encode()
	m.tokens.Tokens[raw] = application.FederatedToken{Issuer: iss, Subject: sub, Audience: []string{fedAud},
		IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute), ID: raw}
	return m.auth.Handle(context.Background(), application.ClientCredentials{Assertion: raw, AssertionType: application.AssertionTypeJWTBearer})
}

var k8sEntry = application.FederatedIssuerSpec{
	Issuer: "https://k8s.example", JWKS: `{"keys":[]}`,
	Clients: []application.FederationMapping{{Client: "orders", Subject: "system:serviceaccount:shop:orders"}},
}

func TestAppliedIssuerIsTrustedAfterAReloadAndDeletedOneIsNot(t *testing.T) {
	m := newManagedFederation(t)
	ctx := context.Background()
	if _, err := m.assert(t, k8sEntry.Issuer, "system:serviceaccount:shop:orders"); err == nil {
		t.Fatal("an issuer not yet applied authenticated a client")
	}
	res, err := m.apply.Handle(ctx, application.ApplyFederatedIssuerInput{Spec: k8sEntry})
	if err != nil || !res.Created {
		t.Fatalf("apply = %+v, %v", res, err)
	}
	if err := m.fed.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := m.assert(t, k8sEntry.Issuer, "system:serviceaccount:shop:orders"); err != nil || c.ID != "orders" {
		t.Fatalf("after apply and reload: %v, %v; want orders", c.ID, err)
	}
	if got := m.fed.Issuers(); !slices.Equal(got, []string{fileIssuer, k8sEntry.Issuer}) {
		t.Errorf("trusted %v, want the file's and the applied one", got)
	}

	// Changed: the mapping moves to another account.
	changed := k8sEntry
	changed.Clients = []application.FederationMapping{{Client: "orders", Subject: "system:serviceaccount:shop:orders-v2"}}
	if res, err := m.apply.Handle(ctx, application.ApplyFederatedIssuerInput{Spec: changed}); err != nil || res.Created {
		t.Fatalf("second apply = %+v, %v; want a replacement", res, err)
	}
	_ = m.fed.Reload(ctx)
	if _, err := m.assert(t, k8sEntry.Issuer, "system:serviceaccount:shop:orders"); !errors.Is(err, domain.ErrInvalidClient) {
		t.Fatalf("old account after the change: %v, want invalid_client", err)
	}
	if _, err := m.assert(t, k8sEntry.Issuer, "system:serviceaccount:shop:orders-v2"); err != nil {
		t.Fatalf("new account after the change: %v", err)
	}

	if err := m.delete.Handle(ctx, k8sEntry.Issuer); err != nil {
		t.Fatal(err)
	}
	_ = m.fed.Reload(ctx)
	if _, err := m.assert(t, k8sEntry.Issuer, "system:serviceaccount:shop:orders-v2"); !errors.Is(err, domain.ErrInvalidClient) {
		t.Fatalf("after delete: %v, want invalid_client", err)
	}
	if err := m.delete.Handle(ctx, k8sEntry.Issuer); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("second delete = %v, want domain.ErrNotFound", err)
	}
	var kinds []application.AuditKind
	for _, e := range m.audits.Events() {
		if e.Issuer != k8sEntry.Issuer {
			t.Errorf("audit %s names issuer %q", e.Kind, e.Issuer)
		}
		kinds = append(kinds, e.Kind)
	}
	want := []application.AuditKind{application.AuditFederatedIssuerCreated, application.AuditFederatedIssuerChanged, application.AuditFederatedIssuerDeleted}
	if !slices.Equal(kinds, want) {
		t.Errorf("audited %v, want %v", kinds, want)
	}
	if n := len(m.events.Published()); n != 3 {
		t.Errorf("%d events published, want one per change", n)
	}
	for _, e := range m.events.Published() {
		if e.Kind != domain.EventFederationChanged {
			t.Errorf("event %s, want %s", e.Kind, domain.EventFederationChanged)
		}
	}
}

func TestTheFileWinsOverTheAdminAPI(t *testing.T) {
	m := newManagedFederation(t)
	ctx := context.Background()
	mine := application.FederatedIssuerSpec{Issuer: fileIssuer, Clients: []application.FederationMapping{{Client: "orders", Subject: "billing"}}}
	if _, err := m.apply.Handle(ctx, application.ApplyFederatedIssuerInput{Spec: mine}); !errors.Is(err, application.ErrFileIssuer) || !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("apply of the file's issuer = %v, want ErrFileIssuer", err)
	}
	if err := m.delete.Handle(ctx, fileIssuer); !errors.Is(err, application.ErrFileIssuer) {
		t.Fatalf("delete of the file's issuer = %v, want ErrFileIssuer", err)
	}
	// Stored behind the use case's back (an older release, a hand edit):
	// the file's entry still decides.
	_, _ = m.store.SaveFederatedIssuer(ctx, mine)
	if err := m.fed.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := m.assert(t, fileIssuer, "billing"); err != nil || c.ID != "billing" {
		t.Fatalf("file issuer's token = %v, %v; want the file's mapping (billing)", c.ID, err)
	}
}

func TestAppliedEntriesAreCheckedByTheFileRules(t *testing.T) {
	m := newManagedFederation(t)
	with := func(edit func(*application.FederatedIssuerSpec)) application.FederatedIssuerSpec {
		s := k8sEntry
		s.Clients = slices.Clone(s.Clients)
		edit(&s)
		return s
	}
	for name, tc := range map[string]struct {
		spec application.FederatedIssuerSpec
		want string
	}{
		"no issuer":       {with(func(s *application.FederatedIssuerSpec) { s.Issuer = "" }), "issuer is required"},
		"two key sources": {with(func(s *application.FederatedIssuerSpec) { s.JWKSURI = "https://k8s.example/jwks" }), "at most one of"},
		"hmac":            {with(func(s *application.FederatedIssuerSpec) { s.Algorithms = []string{"HS256"} }), `algorithm "HS256" not allowed`},
		"long lifetime":   {with(func(s *application.FederatedIssuerSpec) { s.MaxLifetime = "48h" }), "max_lifetime"},
		"catch-all":       {with(func(s *application.FederatedIssuerSpec) { s.Clients[0].Subject = "" }), "name sub or claims"},

		"nothing":        {with(func(s *application.FederatedIssuerSpec) { s.Clients = nil }), "maps no clients"},
		"not a url":      {with(func(s *application.FederatedIssuerSpec) { s.JWKS = ""; s.Issuer = "spiffe-domain" }), "not an http(s) URL"},
		"bad jwks":       {with(func(s *application.FederatedIssuerSpec) { s.JWKS = "{not json" }), "jwks"},
		"empty audience": {with(func(s *application.FederatedIssuerSpec) { s.Audiences = []string{""} }), "empty value"},
		"bad scope":      {with(func(s *application.FederatedIssuerSpec) { s.SubjectTokenScopes = []string{"a b"} }), "not a scope token"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := m.apply.Handle(context.Background(), application.ApplyFederatedIssuerInput{Spec: tc.spec})
			var fe *application.FederationEntryError
			if !errors.As(err, &fe) || !strings.Contains(fe.Reason, tc.want) || strings.Contains(fe.Reason, "\n") {
				t.Fatalf("apply = %v, want one line with %q", err, tc.want)
			}
		})
	}
	if list, _ := m.list.Handle(context.Background(), application.ListFederatedIssuersInput{}); len(list) != 0 || len(m.events.Published()) != 0 {
		t.Errorf("refused entries stored %v, announced %v", list, m.events.Published())
	}
}

func TestReloadKeepsTheGoodEntriesAndNamesTheBadOnes(t *testing.T) {
	m := newManagedFederation(t)
	ctx := context.Background()
	bad := k8sEntry
	bad.Issuer, bad.Algorithms = "https://old.example", []string{"PS512"} // allowed by a release that is no more
	_, _ = m.store.SaveFederatedIssuer(ctx, bad)
	_, _ = m.store.SaveFederatedIssuer(ctx, k8sEntry)
	err := m.fed.Reload(ctx)
	if err == nil || !strings.Contains(err.Error(), "https://old.example") {
		t.Fatalf("Reload = %v, want the bad entry named", err)
	}
	if !m.fed.Trusts(k8sEntry.Issuer) || m.fed.Trusts(bad.Issuer) || !m.fed.Trusts(fileIssuer) {
		t.Errorf("trusted %v, want the file's and the good entry", m.fed.Issuers())
	}
}

func TestGetOfAnUnknownIssuerIsNotFound(t *testing.T) {
	m := newManagedFederation(t)
	_, _ = m.apply.Handle(context.Background(), application.ApplyFederatedIssuerInput{Spec: k8sEntry})
	if _, err := m.list.Handle(context.Background(), application.ListFederatedIssuersInput{Issuer: "https://nobody.example"}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("get unknown = %v, want domain.ErrNotFound", err)
	}
	if got, err := m.list.Handle(context.Background(), application.ListFederatedIssuersInput{Issuer: k8sEntry.Issuer}); err != nil || len(got) != 1 || got[0].JWKS != k8sEntry.JWKS {
		t.Errorf("get = %+v, %v", got, err)
	}
}

// TestReloadWhileTokensAreChecked: readers never see a half-swapped set
// (run with -race): the file's issuer authenticates throughout while the
// stored one comes and goes.
func TestReloadWhileTokensAreChecked(t *testing.T) {
	m := newManagedFederation(t)
	ctx := context.Background()
	now := m.clock.Now()
	raw := fakes.Assertion{Claims: domain.ClientAssertion{Issuer: fileIssuer, ID: "steady"}}.Encode()
	m.tokens.Tokens[raw] = application.FederatedToken{Issuer: fileIssuer, Subject: "billing", Audience: []string{fedAud},
		IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			if i%2 == 0 {
				_, _ = m.apply.Handle(ctx, application.ApplyFederatedIssuerInput{Spec: k8sEntry})
			} else {
				_ = m.delete.Handle(ctx, k8sEntry.Issuer)
			}
			if err := m.fed.Reload(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		c, err := m.auth.Handle(ctx, application.ClientCredentials{Assertion: raw, AssertionType: application.AssertionTypeJWTBearer})
		if err != nil || c.ID != "billing" {
			t.Fatalf("during reloads: %v, %v", c.ID, err)
		}
	}
}
