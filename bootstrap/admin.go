package bootstrap

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/adapters/secrethash"
	"github.com/sigilauth/sigil/application"
)

// Admin is what the `sigil clients` commands work with: the client
// registry of the configured database and the registration use case. It
// is built from plain constructors, without fx, as a one-shot command
// needs no lifecycle.
type Admin struct {
	Register *application.RegisterClient
	Clients  *gormstore.Clients
	close    func() error
}

// OpenAdmin opens and migrates the configured database.
func OpenAdmin(ctx context.Context, c Config, log *slog.Logger) (*Admin, error) {
	db, err := gormstore.Open(c.DatabaseDriver, c.DatabaseDSN, log)
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("database handle: %w", err)
	}
	if err := gormstore.Migrate(ctx, db); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("migrate %s database: %w", c.DatabaseDriver, err)
	}
	box, err := newSecretBox(c, log)
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	clients := gormstore.NewClients(db)
	return &Admin{
		Register: application.NewRegisterClient(clients, secrethash.NewHasher(secrethash.DefaultParams), box),
		Clients:  clients,
		close:    sqlDB.Close,
	}, nil
}

// Close releases the database.
func (a *Admin) Close() error { return a.close() }
