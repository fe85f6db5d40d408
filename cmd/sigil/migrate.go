package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sigilauth/sigil/bootstrap"
)

// migrate runs `sigil migrate`: it creates the configured database if it
// is a new SQLite file (with its key-encryption key file) and brings its
// schema up to date, as `sigil serve` does at start, so that clients can
// be applied before the first start. The other commands refuse a
// database that does not exist.
func migrate(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	cfg, log, err := loadConfig(args, lookup, nil, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sigil: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := bootstrap.MigrateDatabase(ctx, cfg, log); err != nil {
		fmt.Fprintf(stderr, "sigil: %v\n", err)
		return 1
	}
	// The PostgreSQL DSN may hold a password: name the driver alone.
	where := string(cfg.DatabaseDriver)
	if cfg.DatabaseDriver == bootstrap.SQLite {
		where += " " + cfg.DatabaseDSN
	}
	fmt.Fprintf(stdout, "database ready: %s\n", where)
	return 0
}
