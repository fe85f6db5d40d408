package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigilauth/sigil/adapters/adminclient"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// adminStore is what `sigil clients`, `sigil keys` and `sigil federation` need of a Sigil
// deployment, declared here by its consumer: the database itself
// (*bootstrap.Admin, the use cases of `sigil serve` over the database)
// or the admin API of a running node (*adminclient.Client). Both run the
// same use cases, audited alike. A missing client or key is
// domain.ErrNotFound from either.
type adminStore interface {
	// ApplyClient registers the client, or replaces the one of its id,
	// and tells the running nodes to drop their cached copy.
	ApplyClient(ctx context.Context, in application.RegisterClientInput) (application.ApplyClientResult, error)
	ListClients(ctx context.Context) ([]domain.Client, error)
	GetClient(ctx context.Context, id string) (domain.Client, error)
	// DeleteClient removes a client and revokes its tokens.
	DeleteClient(ctx context.Context, id string) error
	// AddSecret adds a secret; an empty one is made by the server and
	// answered once.
	AddSecret(ctx context.Context, clientID string, s application.SecretSpec) (application.AddedSecret, error)
	// ExpireSecret ends a secret at at (now for zero), and says when.
	ExpireSecret(ctx context.Context, clientID, secretID string, at time.Time) (time.Time, error)
	// RevokeClientTokens revokes every token issued to the client so far.
	RevokeClientTokens(ctx context.Context, clientID string) (time.Time, error)
	ListKeys(ctx context.Context) ([]domain.SigningKey, error)
	// RotateKeys starts a staged rotation now.
	RotateKeys(ctx context.Context) (application.RotateResult, error)
	// RevokeKey removes a key at once, for a leaked one.
	RevokeKey(ctx context.Context, kid string) (application.RevokeResult, error)
	// ListFederatedIssuers, GetFederatedIssuer, ApplyFederatedIssuer and
	// DeleteFederatedIssuer manage the trusted external issuers stored
	// through the admin API (not the federation file's).
	ListFederatedIssuers(ctx context.Context) ([]application.FederatedIssuerSpec, error)
	GetFederatedIssuer(ctx context.Context, iss string) (application.FederatedIssuerSpec, error)
	ApplyFederatedIssuer(ctx context.Context, s application.FederatedIssuerSpec) (application.ApplyFederatedIssuerResult, error)
	DeleteFederatedIssuer(ctx context.Context, iss string) error
	Close() error
}

var (
	_ adminStore = (*bootstrap.Admin)(nil)
	_ adminStore = remoteAdmin{}
)

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
		return openDirect(ctx, cfg, log)
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
	return openRemoteAdmin(url, token, &http.Client{Timeout: adminTimeout}), nil
}

// remoteAdmin is the admin API of a running node; it holds no
// connection of its own to close.
type remoteAdmin struct{ *adminclient.Client }

func (remoteAdmin) Close() error { return nil }

// openRemoteAdmin opens the admin API at url, authenticated with token.
// An https URL is checked against the system's CAs.
func openRemoteAdmin(url, token string, hc *http.Client) adminStore {
	return remoteAdmin{adminclient.New(url, token, hc)}
}

// openDirect opens the configured database, which must exist: an
// administrative command never creates one (bootstrap.OpenAdmin).
func openDirect(ctx context.Context, cfg bootstrap.Config, log *slog.Logger) (adminStore, error) {
	return bootstrap.OpenAdmin(ctx, cfg, log)
}
