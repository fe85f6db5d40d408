package bootstrap

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"go.uber.org/dig"
	"go.uber.org/fx"

	"github.com/sigilauth/sigil/adapters/adminhttp"
	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Admin is what the `sigil clients` and `sigil keys` commands work with,
// over the configured database, and what the admin API on the management
// listener serves: its methods are the admin operations
// (adminhttp.Operations), each one use case. The commands build it with
// OpenAdmin from the same modules as `sigil serve` (the database opened,
// guarded and migrated alike, Redis with the same options), in an fx app of
// its own that Close stops; `sigil serve` builds it in its own graph, from
// the same constructors (adminOps).
type Admin struct {
	Register *application.RegisterClient
	Clients  *gormstore.Clients
	Keys     *gormstore.Keys
	Rotate   *application.RotateSigningKeys
	// Events reaches the running nodes: the Redis feed when Redis is
	// configured; otherwise, for a command, nothing (nodes notice changes
	// within their cache lifetimes), and in `sigil serve` the node itself.
	Events application.EventPublisher

	apply  *application.ApplyClient
	patch  *application.PatchClient
	delete *application.DeleteClient
	add    *application.AddClientSecret
	expire *application.ExpireClientSecret
	revoke *application.RevokeClientTokens
	// The trusted external issuers the admin API manages.
	applyIssuer  *application.ApplyFederatedIssuer
	deleteIssuer *application.DeleteFederatedIssuer
	listIssuers  *application.ListFederatedIssuers
	// fedErr is why the federation file did not load, for the commands.
	fedErr error
	app    *fx.App
}

var _ adminhttp.Operations = (*Admin)(nil)

// OpenAdmin opens and migrates the configured database, and connects to
// Redis when it is configured, without waiting for it to answer: a
// command still does its work while Redis is down, and only the news of
// it to the running nodes fails. An SQLite database that does not exist
// is refused rather than created, so that a command run in the wrong
// folder says so; `sigil serve` or MigrateDatabase creates one.
func OpenAdmin(ctx context.Context, c Config, log *slog.Logger) (*Admin, error) {
	if sqliteMissing(c) {
		return nil, fmt.Errorf("no database at %s: `sigil serve` creates it on first start and `sigil migrate` without serving; "+
			"or point --database-dsn at the one the server uses", sqliteFile(c.DatabaseDSN))
	}
	return openAdmin(ctx, c, log)
}

// MigrateDatabase creates the configured database if it is a new SQLite
// file, and brings its schema up to date, as `sigil serve` does at start.
func MigrateDatabase(ctx context.Context, c Config, log *slog.Logger) error {
	a, err := openAdmin(ctx, c, log)
	if err != nil {
		return err
	}
	return a.Close()
}

func openAdmin(ctx context.Context, c Config, log *slog.Logger) (*Admin, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var a *Admin
	app := fx.New(adminApp(c, log), fx.Populate(&a))
	if err := app.Err(); err != nil {
		// The constructor's own error (no key-encryption key, an unknown
		// driver), not fx's account of the graph around it.
		return nil, dig.RootCause(err)
	}
	if err := app.Start(ctx); err != nil {
		return nil, err
	}
	a.app = app
	return a, nil
}

// adminApp is the commands' graph: the base every entry point shares, the
// feed to the running nodes, and the use cases the commands call.
func adminApp(c Config, log *slog.Logger) fx.Option {
	return fx.Options(
		base(c, log),
		adminEvents(c),
		JoseModule,
		SecretHashModule,
		fx.Provide(
			// The commands' own ring: only the rotation's bookkeeping reads
			// it, the running nodes reload theirs.
			func() *application.KeyRing { return &application.KeyRing{} },
			newRotateSigningKeys,
			commandFederation,
		),
		adminOps(),
	)
}

// adminOps are the admin operations' use cases and Admin, over the
// registry itself (never the auth role's cache of it), for the commands'
// graph and the auth role's alike.
func adminOps() fx.Option {
	return fx.Provide(
		newRegisterClient,
		newApplyClient,
		newPatchClient,
		newRevokeClientTokens,
		newDeleteClient,
		newAddClientSecret,
		newExpireClientSecret,
		newApplyFederatedIssuer,
		newDeleteFederatedIssuer,
		application.NewListFederatedIssuers,
		newAdmin,
	)
}

// adminFederation is the Federation the admin use cases check entries
// with: the auth role's in `sigil serve`; in the commands, one over the
// same federation file, which, if it does not load, fails the federation
// commands alone (Err), so that `sigil clients` still works on a host
// whose settings name a file it lacks.
type adminFederation struct {
	Federation *application.Federation
	Err        error
}

// commandFederation is the commands' adminFederation.
func commandFederation(p federationParams) adminFederation {
	f, err := newFederation(p)
	return adminFederation{Federation: f, Err: err}
}

// applyFederatedIssuer and deleteFederatedIssuer are nil when the
// federation file did not load (adminFederation.Err).
func newApplyFederatedIssuer(store application.FederatedIssuerStore, fed adminFederation, events application.EventPublisher, a application.Auditor) *application.ApplyFederatedIssuer {
	if fed.Err != nil {
		return nil
	}
	h := application.NewApplyFederatedIssuer(store, fed.Federation, events)
	h.AuditTo(a)
	return h
}

func newDeleteFederatedIssuer(store application.FederatedIssuerStore, fed adminFederation, events application.EventPublisher, a application.Auditor) *application.DeleteFederatedIssuer {
	if fed.Err != nil {
		return nil
	}
	h := application.NewDeleteFederatedIssuer(store, fed.Federation, events)
	h.AuditTo(a)
	return h
}

func newApplyClient(r *application.RegisterClient, clients *gormstore.Clients, events application.EventPublisher, a application.Auditor) *application.ApplyClient {
	h := application.NewApplyClient(r, clients, events)
	h.AuditTo(a)
	return h
}

func newPatchClient(clients *gormstore.Clients, r *application.RegisterClient, events application.EventPublisher, a application.Auditor) *application.PatchClient {
	h := application.NewPatchClient(clients, r, events)
	h.AuditTo(a)
	return h
}

func newRevokeClientTokens(clients *gormstore.Clients, store application.ClientRevocationStore, events application.EventPublisher,
	clock application.Clock, a application.Auditor) *application.RevokeClientTokens {
	h := application.NewRevokeClientTokens(clients, store, events, clock)
	h.AuditTo(a)
	return h
}

func newDeleteClient(clients *gormstore.Clients, revoke *application.RevokeClientTokens, events application.EventPublisher, a application.Auditor) *application.DeleteClient {
	h := application.NewDeleteClient(clients, revoke, events)
	h.AuditTo(a)
	return h
}

// newAddClientSecret makes secrets from the system's randomness.
func newAddClientSecret(clients *gormstore.Clients, r *application.RegisterClient, events application.EventPublisher, a application.Auditor) *application.AddClientSecret {
	h := application.NewAddClientSecret(clients, r, rand.Reader, events)
	h.AuditTo(a)
	return h
}

func newExpireClientSecret(clients *gormstore.Clients, clock application.Clock, events application.EventPublisher, a application.Auditor) *application.ExpireClientSecret {
	h := application.NewExpireClientSecret(clients, clock, events)
	h.AuditTo(a)
	return h
}

type adminParams struct {
	fx.In
	Register *application.RegisterClient
	Clients  *gormstore.Clients
	Keys     *gormstore.Keys
	Rotate   *application.RotateSigningKeys
	Events   application.EventPublisher
	Apply    *application.ApplyClient
	Patch    *application.PatchClient
	Delete   *application.DeleteClient
	Add      *application.AddClientSecret
	Expire   *application.ExpireClientSecret
	Revoke   *application.RevokeClientTokens

	ApplyIssuer  *application.ApplyFederatedIssuer
	DeleteIssuer *application.DeleteFederatedIssuer
	ListIssuers  *application.ListFederatedIssuers
	Federation   adminFederation
}

func newAdmin(p adminParams) *Admin {
	return &Admin{
		Register: p.Register, Clients: p.Clients, Keys: p.Keys, Rotate: p.Rotate, Events: p.Events,
		apply: p.Apply, patch: p.Patch, delete: p.Delete, add: p.Add, expire: p.Expire, revoke: p.Revoke,
		applyIssuer: p.ApplyIssuer, deleteIssuer: p.DeleteIssuer, listIssuers: p.ListIssuers, fedErr: p.Federation.Err,
	}
}

// adminEvents is how a command tells the running nodes of a change: over
// the Redis feed, or not at all without Redis.
func adminEvents(c Config) fx.Option {
	if c.RedisAddr == "" {
		return fx.Provide(func() application.EventPublisher { return noEvents{} })
	}
	return fx.Options(RedisModule,
		fx.Provide(func(f *redisstore.Feed) application.EventPublisher { return f }))
}

// newRegisterClient registers clients with hashed (and, for
// client_secret_jwt, sealed) secrets. A client whose tokens would outlive
// their signing key is refused, as `sigil serve` would refuse to start
// with it.
func newRegisterClient(clients *gormstore.Clients, hasher application.SecretHasher, box application.SecretBox, c Config) *application.RegisterClient {
	r := application.NewRegisterClient(clients, hasher, box)
	r.LimitLifetime(c.MaxTokenLifetime())
	return r
}

// adminStopTimeout bounds Close: closing the database and Redis takes
// moments, unless a statement is still running.
const adminStopTimeout = 10 * time.Second

// Close releases the database and Redis; the Admin of `sigil serve` has
// nothing of its own to release.
func (a *Admin) Close() error {
	if a.app == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminStopTimeout)
	defer cancel()
	return a.app.Stop(ctx)
}

// ClientChanged tells the running nodes to drop a cached client record.
func (a *Admin) ClientChanged(ctx context.Context, id string) error {
	return a.Events.Publish(ctx, domain.Event{Kind: domain.EventClientChanged, ClientID: id})
}

// noEvents is the feed of a deployment without Redis, seen from a command
// outside the server process: there is no one to tell.
type noEvents struct{}

func (noEvents) Publish(context.Context, domain.Event) error { return nil }

// CreateClient registers a new client; an id in use gives
// domain.ErrConflict. The client is returned as stored, without secret
// material.
func (a *Admin) CreateClient(ctx context.Context, in application.RegisterClientInput) (domain.Client, error) {
	res, err := a.apply.Handle(ctx, application.ApplyClientInput{Registration: in, Create: true})
	return res.Client, err
}

// ApplyClient creates or replaces a client, as `sigil clients apply` does
// for each client of a file, and audits it.
func (a *Admin) ApplyClient(ctx context.Context, in application.RegisterClientInput) (application.ApplyClientResult, error) {
	return a.apply.Handle(ctx, application.ApplyClientInput{Registration: in})
}

// GetClient returns a client without secret material, or domain.ErrNotFound.
func (a *Admin) GetClient(ctx context.Context, id string) (domain.Client, error) {
	c, err := a.Clients.FindClient(ctx, id)
	if err != nil {
		return domain.Client{}, err
	}
	return application.WithoutSecretMaterial(c), nil
}

// ListClients returns every client, ordered by id, without secret material.
func (a *Admin) ListClients(ctx context.Context) ([]domain.Client, error) {
	list, err := a.Clients.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	for i, c := range list {
		list[i] = application.WithoutSecretMaterial(c)
	}
	return list, nil
}

// PatchClient changes some fields of a client.
func (a *Admin) PatchClient(ctx context.Context, id string, p application.ClientPatch) (domain.Client, error) {
	return a.patch.Handle(ctx, application.PatchClientInput{ID: id, Patch: p})
}

// DeleteClient deletes a client and revokes its tokens.
func (a *Admin) DeleteClient(ctx context.Context, id string) error {
	return a.delete.Handle(ctx, id)
}

// AddSecret adds a secret to a client; an empty s.Secret has the server
// make one, returned once in the result.
func (a *Admin) AddSecret(ctx context.Context, clientID string, s application.SecretSpec) (application.AddedSecret, error) {
	return a.add.Handle(ctx, application.AddClientSecretInput{ClientID: clientID, Secret: s})
}

// ExpireSecret ends a secret's validity at at, or now for zero, and
// returns when it ends.
func (a *Admin) ExpireSecret(ctx context.Context, clientID, secretID string, at time.Time) (time.Time, error) {
	return a.expire.Handle(ctx, application.ExpireClientSecretInput{ClientID: clientID, SecretID: secretID, At: at})
}

// RevokeClientTokens revokes every token of a client and returns the
// revocation time.
func (a *Admin) RevokeClientTokens(ctx context.Context, clientID string) (time.Time, error) {
	return a.revoke.Handle(ctx, clientID)
}

// ListKeys returns the signing keys, oldest first, without key material.
func (a *Admin) ListKeys(ctx context.Context) ([]domain.SigningKey, error) {
	keys, err := a.Keys.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		keys[i].Private = nil
	}
	return keys, nil
}

// RotateKeys starts a rotation now, as `sigil keys rotate` does.
func (a *Admin) RotateKeys(ctx context.Context) (application.RotateResult, error) {
	return a.Rotate.Handle(ctx, application.RotateInput{Force: true})
}

// RevokeKey removes a signing key at once, as `sigil keys revoke` does.
func (a *Admin) RevokeKey(ctx context.Context, kid string) (application.RevokeResult, error) {
	return a.Rotate.Revoke(ctx, kid)
}

// ListFederatedIssuers returns the trust relationships the admin API
// manages, ordered by issuer.
func (a *Admin) ListFederatedIssuers(ctx context.Context) ([]application.FederatedIssuerSpec, error) {
	return a.listIssuers.Handle(ctx, application.ListFederatedIssuersInput{})
}

// GetFederatedIssuer returns the entry of iss, or domain.ErrNotFound.
func (a *Admin) GetFederatedIssuer(ctx context.Context, iss string) (application.FederatedIssuerSpec, error) {
	if iss == "" {
		return application.FederatedIssuerSpec{}, domain.ErrNotFound
	}
	list, err := a.listIssuers.Handle(ctx, application.ListFederatedIssuersInput{Issuer: iss})
	if err != nil {
		return application.FederatedIssuerSpec{}, err
	}
	return list[0], nil
}

// ApplyFederatedIssuer creates or replaces a trust relationship, checked
// by the federation file's rules, and tells the nodes to reload.
func (a *Admin) ApplyFederatedIssuer(ctx context.Context, s application.FederatedIssuerSpec) (application.ApplyFederatedIssuerResult, error) {
	if a.fedErr != nil {
		return application.ApplyFederatedIssuerResult{}, a.fedErr
	}
	return a.applyIssuer.Handle(ctx, application.ApplyFederatedIssuerInput{Spec: s})
}

// DeleteFederatedIssuer removes a trust relationship.
func (a *Admin) DeleteFederatedIssuer(ctx context.Context, iss string) error {
	if a.fedErr != nil {
		return a.fedErr
	}
	return a.deleteIssuer.Handle(ctx, iss)
}
