package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/adapters/secrethash"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Admin is what the `sigil clients` and `sigil keys` commands work with,
// over the configured database. It is built from plain constructors,
// without fx: a one-shot command needs no lifecycle.
type Admin struct {
	Register *application.RegisterClient
	Clients  *gormstore.Clients
	Keys     *gormstore.Keys
	Rotate   *application.RotateSigningKeys
	// Events reaches the running nodes: the Redis feed when Redis is
	// configured; otherwise nothing (nodes notice changes within their
	// cache lifetimes).
	Events application.EventPublisher
	close  []func() error
}

// OpenAdmin opens and migrates the configured database.
func OpenAdmin(ctx context.Context, c Config, log *slog.Logger) (*Admin, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := gormstore.Open(string(c.DatabaseDriver), c.DatabaseDSN, log)
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("database handle: %w", err)
	}
	// The commands see an unreachable database as the server does: within
	// database-timeout, with its classified error.
	health, err := gormstore.Guard(db, gormstore.GuardOptions{Timeout: c.DatabaseTimeout, Logger: log})
	if err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	a := &Admin{close: []func() error{func() error { health.Close(); return nil }, sqlDB.Close}}
	if err := gormstore.Migrate(ctx, db); err != nil {
		a.Close()
		return nil, fmt.Errorf("migrate %s database: %w", c.DatabaseDriver, err)
	}
	box, err := newSecretBox(c, log)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Events = noEvents{}
	if c.RedisAddr != "" {
		r := newUniversalClient(c)
		a.close = append(a.close, r.Close)
		a.Events = redisstore.NewFeed(r, c.RedisPrefix+"events", log)
	}
	clock := application.SystemClock{}
	a.Clients = gormstore.NewClients(db)
	a.Keys = gormstore.NewKeys(db, box)
	a.Register = application.NewRegisterClient(a.Clients, secrethash.NewHasher(secrethash.DefaultParams), box)
	// A client whose tokens would outlive their signing key is refused
	// here, as `sigil serve` would refuse to start with it.
	a.Register.LimitLifetime(c.MaxTokenLifetime())
	a.Rotate = application.NewRotateSigningKeys(a.Keys, josekit.NewKeyGenerator(c.RSABits), &application.KeyRing{},
		gormstore.NewLocker(db), a.Events, clock, c.RotationPolicy())
	return a, nil
}

// Close releases the database and Redis.
func (a *Admin) Close() error {
	var errs []error
	for _, c := range a.close {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// ClientChanged tells the running nodes to drop a cached client record.
func (a *Admin) ClientChanged(ctx context.Context, id string) error {
	return a.Events.Publish(ctx, domain.Event{Kind: domain.EventClientChanged, ClientID: id})
}

// noEvents is the feed of a deployment without Redis, seen from a command
// outside the server process: there is no one to tell.
type noEvents struct{}

func (noEvents) Publish(context.Context, domain.Event) error { return nil }
