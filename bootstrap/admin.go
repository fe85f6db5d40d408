package bootstrap

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.uber.org/dig"
	"go.uber.org/fx"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Admin is what the `sigil clients` and `sigil keys` commands work with,
// over the configured database. It is built from the same modules as
// `sigil serve` (the database opened, guarded and migrated alike, Redis
// with the same options), in an fx app of its own that Close stops.
type Admin struct {
	Register *application.RegisterClient
	Clients  *gormstore.Clients
	Keys     *gormstore.Keys
	Rotate   *application.RotateSigningKeys
	// Events reaches the running nodes: the Redis feed when Redis is
	// configured; otherwise nothing (nodes notice changes within their
	// cache lifetimes).
	Events application.EventPublisher
	app    *fx.App
}

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
	a := &Admin{}
	app := fx.New(adminApp(c, log),
		fx.Populate(&a.Register, &a.Clients, &a.Keys, &a.Rotate, &a.Events))
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
			newRegisterClient,
			// The commands' own ring: only the rotation's bookkeeping reads
			// it, the running nodes reload theirs.
			func() *application.KeyRing { return &application.KeyRing{} },
			newRotateSigningKeys,
		),
	)
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

// Close releases the database and Redis.
func (a *Admin) Close() error {
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
