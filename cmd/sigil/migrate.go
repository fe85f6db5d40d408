package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sigilauth/sigil/bootstrap"
)

// migrateCommand is `sigil migrate`: it creates the configured database
// if it is a new SQLite file (with its key-encryption key file) and
// brings its schema up to date, as `sigil serve` does at start, so that
// clients can be applied before the first start. The other commands
// refuse a database that does not exist.
func migrateCommand(e env) *cobra.Command {
	c := &cobra.Command{
		Use:   "migrate",
		Short: "Create the database (SQLite) or bring its schema up to date, as serve does",
		Long: `Create the configured database if it is a new SQLite file (with its
key-encryption key file beside it), and bring its schema up to date, as
"sigil serve" does at start: for clients applied before the first start. The
clients and keys commands never create a database.`,
		Args: noArgs,
	}
	sf := addSettingFlags(c, false)
	c.RunE = func(c *cobra.Command, _ []string) error {
		cfg, log, err := sf.load(e)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(c.Context(), adminTimeout)
		defer cancel()
		if err := bootstrap.MigrateDatabase(ctx, cfg, log); err != nil {
			return err
		}
		// The PostgreSQL DSN may hold a password: name the driver alone.
		where := string(cfg.DatabaseDriver)
		if cfg.DatabaseDriver == bootstrap.SQLite {
			where += " " + cfg.DatabaseDSN
		}
		fmt.Fprintf(e.stdout, "database ready: %s\n", where)
		return nil
	}
	return c
}
