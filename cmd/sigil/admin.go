package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// adminStore is what `sigil clients` and `sigil keys` need of a Sigil
// deployment, declared here by its consumer: the database itself
// (directAdmin, over bootstrap.Admin) or the admin API of a running
// node (remote, see openRemoteAdmin). A missing client or key is
// domain.ErrNotFound from either.
type adminStore interface {
	// ApplyClient registers the client, or replaces the one of its id,
	// and tells the running nodes to drop their cached copy.
	ApplyClient(ctx context.Context, in application.RegisterClientInput) error
	ListClients(ctx context.Context) ([]domain.Client, error)
	GetClient(ctx context.Context, id string) (domain.Client, error)
	DeleteClient(ctx context.Context, id string) error
	ListKeys(ctx context.Context) ([]domain.SigningKey, error)
	// RotateKeys starts a staged rotation (force: even when the
	// schedule does not call for one).
	RotateKeys(ctx context.Context, force bool) (application.RotateResult, error)
	// RevokeKey removes a key at once, for a leaked one.
	RevokeKey(ctx context.Context, kid string) (application.RevokeResult, error)
	Close() error
}

// The admin API's variables, read by the command line itself: a script
// or a CI job sets them once rather than on every command.
const (
	envAdminURL       = "SIGIL_ADMIN_URL"
	envAdminTokenFile = "SIGIL_ADMIN_TOKEN_FILE"
)

// adminFlags choose where `sigil clients` and `sigil keys` work: the
// admin API of a running node with --admin-url, else the database the
// settings name.
type adminFlags struct {
	url, tokenFile string
	settings       *settingFlags
}

// addAdminFlags declares, on a group of commands, the admin API flags and
// every setting (for the database mode).
func addAdminFlags(c *cobra.Command) *adminFlags {
	a := &adminFlags{}
	c.PersistentFlags().StringVar(&a.url, "admin-url", "",
		"base URL of a running node's admin API (its management listener, see --admin-addr); empty works on the database the settings name ["+envAdminURL+"]")
	c.PersistentFlags().StringVar(&a.tokenFile, "admin-token-file", "",
		"file holding the admin API's token (- reads standard input) ["+envAdminTokenFile+"]")
	a.settings = addSettingFlags(c, true)
	return a
}

// open opens the store the flags choose. cfg is the settings the command
// was given, which the database mode opens.
func (a *adminFlags) open(ctx context.Context, c *cobra.Command, e env, cfg bootstrap.Config, log *slog.Logger) (adminStore, error) {
	url, tokenFile := a.url, a.tokenFile
	if !c.Flags().Changed("admin-url") {
		url, _ = e.lookup(envAdminURL)
	}
	if !c.Flags().Changed("admin-token-file") {
		tokenFile, _ = e.lookup(envAdminTokenFile)
	}
	if url == "" {
		// Only the flag is a mistake: the variable may be a node's own
		// setting, on the host where an operator runs the command.
		if c.Flags().Changed("admin-token-file") {
			return nil, usagef("--admin-token-file is for the admin API: give --admin-url too")
		}
		return openDirect(ctx, cfg, log, e.stderr)
	}
	if tokenFile == "" {
		return nil, usagef("--admin-url needs --admin-token-file, the file holding the admin token")
	}
	raw, err := readFileOrStdin(tokenFile)
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return nil, fmt.Errorf("admin token: %s is empty", tokenFile)
	}
	return openRemoteAdmin(ctx, url, token)
}

// errNoAdminClient is the answer of openRemoteAdmin while this build has
// no client of the admin API.
var errNoAdminClient = errors.New("--admin-url: the admin API client is not available in this build; " +
	"leave --admin-url out to work on the database directly")

// openRemoteAdmin opens the admin API at url, authenticated with token.
// The admin API client (adapters/adminclient) plugs in here: return an
// adminStore over it.
func openRemoteAdmin(_ context.Context, _, _ string) (adminStore, error) {
	return nil, errNoAdminClient
}

// directAdmin works on the database itself, through bootstrap.Admin: the
// same modules as `sigil serve`, the database's credentials and
// key-encryption key on this machine.
type directAdmin struct {
	a *bootstrap.Admin
	// warn reaches stderr: a change that running nodes could not be told
	// of is made all the same, and they see it within their cache TTL.
	warn io.Writer
}

var _ adminStore = (*directAdmin)(nil)

// openDirect opens the configured database, which must exist: an
// administrative command never creates one (bootstrap.OpenAdmin).
func openDirect(ctx context.Context, cfg bootstrap.Config, log *slog.Logger, warn io.Writer) (*directAdmin, error) {
	a, err := bootstrap.OpenAdmin(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return &directAdmin{a: a, warn: warn}, nil
}

func (d *directAdmin) ApplyClient(ctx context.Context, in application.RegisterClientInput) error {
	if err := d.a.Register.Handle(ctx, in); err != nil {
		return err
	}
	if err := d.a.ClientChanged(ctx, in.Client.ID); err != nil {
		fmt.Fprintf(d.warn, "sigil: running nodes will see %s within client-cache-ttl: %v\n", in.Client.ID, err)
	}
	return nil
}

func (d *directAdmin) ListClients(ctx context.Context) ([]domain.Client, error) {
	return d.a.Clients.ListClients(ctx)
}

func (d *directAdmin) GetClient(ctx context.Context, id string) (domain.Client, error) {
	return d.a.Clients.FindClient(ctx, id)
}

func (d *directAdmin) DeleteClient(ctx context.Context, id string) error {
	if err := d.a.Clients.DeleteClient(ctx, id); err != nil {
		return err
	}
	if err := d.a.ClientChanged(ctx, id); err != nil {
		fmt.Fprintf(d.warn, "sigil: running nodes will drop %s within client-cache-ttl: %v\n", id, err)
	}
	return nil
}

func (d *directAdmin) ListKeys(ctx context.Context) ([]domain.SigningKey, error) {
	return d.a.Keys.ListSigningKeys(ctx)
}

func (d *directAdmin) RotateKeys(ctx context.Context, force bool) (application.RotateResult, error) {
	return d.a.Rotate.Handle(ctx, application.RotateInput{Force: force})
}

func (d *directAdmin) RevokeKey(ctx context.Context, kid string) (application.RevokeResult, error) {
	return d.a.Rotate.Revoke(ctx, kid)
}

func (d *directAdmin) Close() error { return d.a.Close() }
