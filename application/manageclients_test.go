package application_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// admin is the client-management use cases over fakes, with what they
// told the other nodes and the audit trail.
type admin struct {
	clock       *fakes.Clock
	clients     *fakes.Clients
	revocations *fakes.ClientRevocations
	events      *fakes.Events
	audit       *fakes.Auditor
	register    *application.RegisterClient
	apply       *application.ApplyClient
	patch       *application.PatchClient
	del         *application.DeleteClient
	addSecret   *application.AddClientSecret
	expire      *application.ExpireClientSecret
	revoke      *application.RevokeClientTokens
}

func newAdmin(t *testing.T) *admin {
	t.Helper()
	a := &admin{
		clock: fakes.NewClock(t0), clients: fakes.NewClients(), revocations: &fakes.ClientRevocations{},
		events: &fakes.Events{}, audit: &fakes.Auditor{},
	}
	a.register = application.NewRegisterClient(a.clients, fakes.Hasher{}, fakes.Box{})
	a.apply = application.NewApplyClient(a.register, a.clients, a.events)
	a.apply.AuditTo(a.audit)
	a.patch = application.NewPatchClient(a.clients, a.register, a.events)
	a.patch.AuditTo(a.audit)
	a.revoke = application.NewRevokeClientTokens(a.clients, a.revocations, a.events, a.clock)
	a.revoke.AuditTo(a.audit)
	a.del = application.NewDeleteClient(a.clients, a.revoke, a.events)
	a.del.AuditTo(a.audit)
	// A fixed "random" source, so that generated secrets are known.
	a.addSecret = application.NewAddClientSecret(a.clients, a.register, bytes.NewReader(bytes.Repeat([]byte{7}, 1024)), a.events)
	a.addSecret.AuditTo(a.audit)
	a.expire = application.NewExpireClientSecret(a.clients, a.clock, a.events)
	a.expire.AuditTo(a.audit)
	return a
}

func (a *admin) create(t *testing.T) domain.Client {
	t.Helper()
	res, err := a.apply.Handle(t.Context(), application.ApplyClientInput{Registration: registration(), Create: true})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return res.Client
}

// kinds lists the audit events recorded, in order.
func (a *admin) kinds() []application.AuditKind {
	var out []application.AuditKind
	for _, e := range a.audit.Events() {
		out = append(out, e.Kind)
	}
	return out
}

// announced reports whether the nodes were told to drop client id.
func (a *admin) announced(id string) bool {
	return slices.ContainsFunc(a.events.Published(), func(e domain.Event) bool {
		return e.Kind == domain.EventClientChanged && e.ClientID == id
	})
}

func TestApplyClientCreatesThenReplacesAndRefusesASecondCreate(t *testing.T) {
	a := newAdmin(t)
	got := a.create(t)
	if got.ID != "billing" || len(got.Secrets) != 1 || got.Secrets[0].Hash != "" || got.Secrets[0].ID != "2026-10" {
		t.Errorf("created client shown as %+v, want its secret's id without the hash", got)
	}
	if !a.announced("billing") {
		t.Error("nodes not told of the new client")
	}

	_, err := a.apply.Handle(t.Context(), application.ApplyClientInput{Registration: registration(), Create: true})
	if !errors.Is(err, domain.ErrConflict) {
		t.Errorf("second create: %v, want ErrConflict", err)
	}

	in := registration()
	in.Client.AllowedScopes = domain.NewScopes("country.read", "customer.read")
	res, err := a.apply.Handle(t.Context(), application.ApplyClientInput{Registration: in})
	if err != nil || res.Created {
		t.Fatalf("replace: %+v %v, want a replacement", res, err)
	}
	if res.Client.AllowedScopes.String() != "country.read customer.read" {
		t.Errorf("replaced client has scopes %q", res.Client.AllowedScopes)
	}
	if k := a.kinds(); !slices.Equal(k, []application.AuditKind{application.AuditClientCreated, application.AuditClientChanged}) {
		t.Errorf("audit trail %v, want created then changed", k)
	}
	for _, e := range a.audit.Events() {
		if e.ClientID != "billing" || !slices.Contains(e.Changed, "secrets") {
			t.Errorf("audit event %+v lacks the client or the fields it set", e)
		}
	}
}

func TestApplyClientRefusesWhatAClientsFileWould(t *testing.T) {
	a := newAdmin(t)
	in := registration()
	in.Client.DefaultScopes = domain.NewScopes("customer.write")
	_, err := a.apply.Handle(t.Context(), application.ApplyClientInput{Registration: in, Create: true})
	wantOAuthError(t, err, domain.ErrInvalidClientMetadata)
	if len(a.audit.Events()) != 0 || len(a.events.Published()) != 0 {
		t.Error("a refused registration was audited or announced")
	}
}

func TestPatchClientChangesOnlyWhatItNamesAndKeepsSecrets(t *testing.T) {
	a := newAdmin(t)
	a.create(t)
	scopes := domain.NewScopes("country.read", "customer.read")
	introspect := true
	got, err := a.patch.Handle(t.Context(), application.PatchClientInput{ID: "billing", Patch: application.ClientPatch{
		Scopes: &scopes, Introspect: &introspect,
	}})
	if err != nil {
		t.Fatalf("patch: %v", err)
	}
	if got.AllowedScopes.String() != "country.read customer.read" || !got.CanIntrospect || got.TokenFormat != domain.FormatOpaque {
		t.Errorf("patched client %+v", got)
	}
	// The default scopes were the allowed ones, so they follow.
	if got.DefaultScopes.String() != "country.read customer.read" {
		t.Errorf("default scopes %q did not follow the allowed scopes", got.DefaultScopes)
	}
	stored, _ := a.clients.FindClient(t.Context(), "billing")
	if len(stored.Secrets) != 1 || stored.Secrets[0].Hash != "plain$billing-secret" {
		t.Errorf("patch lost the stored secret: %+v", stored.Secrets)
	}
	last := a.audit.Events()[len(a.audit.Events())-1]
	if last.Kind != application.AuditClientChanged || !slices.Equal(last.Changed, []string{"default_scopes", "introspect", "scopes"}) {
		t.Errorf("audit %+v, want client_changed naming default_scopes, introspect, scopes", last)
	}
}

func TestPatchClientValidatesTheResult(t *testing.T) {
	a := newAdmin(t)
	a.create(t)
	none := []domain.AuthMethod{}
	_, err := a.patch.Handle(t.Context(), application.PatchClientInput{ID: "billing", Patch: application.ClientPatch{AuthMethods: &none}})
	wantOAuthError(t, err, domain.ErrInvalidClientMetadata)
	jwt := []domain.AuthMethod{domain.AuthClientSecretJWT}
	_, err = a.patch.Handle(t.Context(), application.PatchClientInput{ID: "billing", Patch: application.ClientPatch{AuthMethods: &jwt}})
	if e := wantOAuthError(t, err, domain.ErrInvalidClientMetadata); e != nil && !strings.Contains(e.Description, "only as a hash") {
		t.Errorf("client_secret_jwt over a hashed secret refused with %q", e.Description)
	}
	_, err = a.patch.Handle(t.Context(), application.PatchClientInput{ID: "nobody"})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("patch of an unknown client: %v", err)
	}
}

func TestAddClientSecretGeneratesAStrongOneAndShowsItOnce(t *testing.T) {
	a := newAdmin(t)
	a.create(t)
	added, err := a.addSecret.Handle(t.Context(), application.AddClientSecretInput{ClientID: "billing"})
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	if len(added.Secret) < 43 || added.ID == "" {
		t.Errorf("generated secret %+v: want 256 bits and an id", added)
	}
	stored, _ := a.clients.FindClient(t.Context(), "billing")
	if len(stored.Secrets) != 2 || stored.Secrets[1].Hash != "plain$"+added.Secret {
		t.Errorf("stored secrets %+v", stored.Secrets)
	}
	given, err := a.addSecret.Handle(t.Context(), application.AddClientSecretInput{ClientID: "billing",
		Secret: application.SecretSpec{ID: "mine", Secret: "chosen-secret"}})
	if err != nil || given.Secret != "" {
		t.Errorf("a secret given is echoed back or refused: %+v %v", given, err)
	}
	_, err = a.addSecret.Handle(t.Context(), application.AddClientSecretInput{ClientID: "billing",
		Secret: application.SecretSpec{ID: "mine", Secret: "other"}})
	if !errors.Is(err, domain.ErrConflict) {
		t.Errorf("a second secret of the same id: %v, want ErrConflict", err)
	}
	for _, e := range a.audit.Events() {
		if e.Kind == application.AuditSecretAdded && (e.SecretID == "" || strings.Contains(e.SecretID, "secret")) {
			t.Errorf("secret_added event %+v", e)
		}
	}
}

func TestExpireClientSecretNowOrLaterButNeverLonger(t *testing.T) {
	a := newAdmin(t)
	a.create(t)
	at, err := a.expire.Handle(t.Context(), application.ExpireClientSecretInput{ClientID: "billing", SecretID: "2026-10"})
	if err != nil || !at.Equal(t0) {
		t.Fatalf("expire now: %v %v, want %v", at, err, t0)
	}
	stored, _ := a.clients.FindClient(t.Context(), "billing")
	if stored.Secrets[0].ValidAt(t0) {
		t.Error("expired secret still valid")
	}
	later, err := a.expire.Handle(t.Context(), application.ExpireClientSecretInput{ClientID: "billing", SecretID: "2026-10", At: t0.Add(time.Hour)})
	if err != nil || !later.Equal(t0) {
		t.Errorf("expiring later an expired secret: %v %v, want it kept at %v", later, err, t0)
	}
	_, err = a.expire.Handle(t.Context(), application.ExpireClientSecretInput{ClientID: "billing", SecretID: "nope"})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown secret: %v", err)
	}
	if k := a.kinds(); !slices.Equal(k, []application.AuditKind{application.AuditClientCreated, application.AuditSecretExpired}) {
		t.Errorf("audit trail %v", k)
	}
}

// Revoking a client's tokens ends those issued up to that second,
// wherever the revocation set hears of it, and no later one.
func TestRevokeClientTokensReachesTheRevocationSet(t *testing.T) {
	a := newAdmin(t)
	a.create(t)
	set := application.NewRevocationSet(a.clock)
	a.events.Subscribe(set.Apply)
	at, err := a.revoke.Handle(t.Context(), "billing")
	if err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if !set.ClientRevoked("billing", t0.Add(-time.Hour)) || !set.ClientRevoked("billing", at) {
		t.Error("a token issued before the revocation is not refused")
	}
	if set.ClientRevoked("billing", t0.Add(time.Second)) || set.ClientRevoked("other", t0.Add(-time.Hour)) {
		t.Error("a later token, or another client's, is refused")
	}
	// A node that missed the message catches up from storage.
	late := application.NewRevocationSet(a.clock)
	if n, err := late.CatchUpClients(t.Context(), a.revocations); err != nil || n != 1 || !late.ClientRevoked("billing", t0) {
		t.Errorf("catch up: %d %v", n, err)
	}
	if _, err := a.revoke.Handle(t.Context(), "nobody"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("revoking an unknown client: %v", err)
	}
}

// A deleted client's tokens are revoked with it.
func TestDeleteClientRevokesItsTokens(t *testing.T) {
	a := newAdmin(t)
	a.create(t)
	set := application.NewRevocationSet(a.clock)
	a.events.Subscribe(set.Apply)
	if err := a.del.Handle(t.Context(), "billing"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := a.clients.FindClient(t.Context(), "billing"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("deleted client still found: %v", err)
	}
	if !set.ClientRevoked("billing", t0) {
		t.Error("a deleted client's token is still accepted")
	}
	if k := a.kinds(); !slices.Equal(k, []application.AuditKind{application.AuditClientCreated, application.AuditClientDeleted, application.AuditClientTokensRevoked}) {
		t.Errorf("audit trail %v", k)
	}
	if err := a.del.Handle(t.Context(), "billing"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

// The bearer check and introspection refuse a revoked client's tokens of
// both formats, and accept those issued after.
func TestClientRevocationRefusedAtTheResourceAndAtIntrospection(t *testing.T) {
	e := newEnv(t)
	e.introspect.HonourClientRevocations(e.revoked)
	jwt := e.issueToken(t, jwtClientID, jwtSecret, "country.read").AccessToken
	opaque := e.issueToken(t, opaqueClientID, opaqueSecret, "country.read").AccessToken
	for _, id := range []string{jwtClientID, opaqueClientID} {
		e.revoked.Apply(domain.Event{Kind: domain.EventClientTokensRevoked, ClientID: id, IssuedBefore: t0})
	}
	for _, raw := range []string{jwt, opaque} {
		_, err := e.bearer().Handle(t.Context(), application.AuthorizeBearerInput{Token: raw})
		wantOAuthError(t, err, domain.ErrInvalidToken)
		res, err := e.introspect.Handle(t.Context(), application.IntrospectInput{Credentials: post(jwtClientID, jwtSecret), Token: raw})
		if err != nil || res.Active {
			t.Errorf("introspection of a revoked client's token: %+v %v", res, err)
		}
	}
	e.clock.Advance(time.Second)
	fresh := e.issueToken(t, opaqueClientID, opaqueSecret, "country.read").AccessToken
	if _, err := e.bearer().Handle(t.Context(), application.AuthorizeBearerInput{Token: fresh}); err != nil {
		t.Errorf("a token issued after the revocation is refused: %v", err)
	}
}
