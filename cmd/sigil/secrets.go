package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// addedSecretView is what `clients add-secret` prints: the secret itself
// once, when the server made it.
type addedSecretView struct {
	ID        string `json:"id" yaml:"id"`
	Secret    string `json:"secret,omitempty" yaml:"secret,omitempty"`
	ExpiresAt string `json:"expires_at,omitempty" yaml:"expires_at,omitempty"`
}

func clientsAddSecretCommand(e env, af *adminFlags) *cobra.Command {
	var id, secretFile, expiresAt string
	c := &cobra.Command{
		Use:   "add-secret CLIENT_ID",
		Short: "Add a secret to a client, beside those it holds",
		Long: `Add a secret to a client, so that it can move to the new one before the old
one is expired (sigil clients expire-secret). Without --secret-file the
server makes one of 256 random bits and prints it once: keep it then.`,
		Example: `  sigil clients add-secret billing --id 2026-12
  openssl rand -hex 32 | sigil clients add-secret billing --id 2026-12 --secret-file -`,
		Args:              exactArgs(1, "clients add-secret needs the id of the client"),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	out := addOutputFlag(c, "table", tableFormats...)
	c.Flags().StringVar(&id, "id", "", "id of the new secret, to expire it by later; empty lets the server name it")
	c.Flags().StringVar(&secretFile, "secret-file", "", "file holding the secret (- reads standard input); empty has the server make one")
	c.Flags().StringVar(&expiresAt, "expires-at", "", "when the secret stops working, RFC 3339; empty is never")
	c.RunE = func(c *cobra.Command, args []string) error {
		spec := application.SecretSpec{ID: id}
		if expiresAt != "" {
			at, err := time.Parse(time.RFC3339, expiresAt)
			if err != nil {
				return usagef("--expires-at: %v", err)
			}
			spec.ExpiresAt = at
		}
		if secretFile != "" {
			secret, err := readSecretFile(secretFile)
			if err != nil {
				return err
			}
			spec.Secret = secret
		}
		return withStore(c, e, af, func(ctx context.Context, s adminStore, _ bootstrap.Config) error {
			added, err := s.AddSecret(ctx, args[0], spec)
			if err != nil {
				return clientError(args[0], err)
			}
			v := addedSecretView{ID: added.ID, Secret: added.Secret}
			if !added.ExpiresAt.IsZero() {
				v.ExpiresAt = added.ExpiresAt.UTC().Format(time.RFC3339)
			}
			if out.value != "table" {
				return encode(e.stdout, out.value, v)
			}
			fmt.Fprintf(e.stdout, "added secret %s to %s\n", v.ID, args[0])
			if v.Secret != "" {
				fmt.Fprintf(e.stdout, "secret: %s\n", v.Secret)
			}
			return nil
		})
	}
	return c
}

func clientsExpireSecretCommand(e env, af *adminFlags) *cobra.Command {
	var at string
	c := &cobra.Command{
		Use:               "expire-secret CLIENT_ID SECRET_ID",
		Short:             "End a client's secret, now or at a given time",
		Example:           "  sigil clients expire-secret billing 2026-11\n  sigil clients expire-secret billing 2026-11 --at 2026-12-31T00:00:00Z",
		Args:              exactArgs(2, "clients expire-secret needs the client id and the secret id (see sigil clients get)"),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	c.Flags().StringVar(&at, "at", "", "when the secret stops working, RFC 3339; empty is now (a secret that ends sooner keeps its end)")
	c.RunE = func(c *cobra.Command, args []string) error {
		var when time.Time
		if at != "" {
			t, err := time.Parse(time.RFC3339, at)
			if err != nil {
				return usagef("--at: %v", err)
			}
			when = t
		}
		return withStore(c, e, af, func(ctx context.Context, s adminStore, _ bootstrap.Config) error {
			ends, err := s.ExpireSecret(ctx, args[0], args[1], when)
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no client %q with a secret %q", args[0], args[1])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "secret %s of %s ends %s\n", args[1], args[0], ends.UTC().Format(time.RFC3339))
			return nil
		})
	}
	return c
}

func clientsRevokeTokensCommand(e env, af *adminFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "revoke-tokens CLIENT_ID",
		Short: "Revoke every token issued to a client so far",
		Long: `Revoke every access token issued to a client up to now, JWT and opaque: the
resource servers and introspection refuse them (at once on nodes that share
Redis; within client-cache-ttl otherwise). The client may get new tokens
from the next second on; expire or replace its secrets first if they leaked.`,
		Args:              exactArgs(1, "clients revoke-tokens needs the id of the client"),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	c.RunE = func(c *cobra.Command, args []string) error {
		return withStore(c, e, af, func(ctx context.Context, s adminStore, _ bootstrap.Config) error {
			before, err := s.RevokeClientTokens(ctx, args[0])
			if err != nil {
				return clientError(args[0], err)
			}
			fmt.Fprintf(e.stdout, "revoked the tokens of %s issued up to %s\n", args[0], before.UTC().Format(time.RFC3339))
			return nil
		})
	}
	return c
}

// clientError names a client that does not exist.
func clientError(id string, err error) error {
	if errors.Is(err, domain.ErrNotFound) {
		return fmt.Errorf("no client %q", id)
	}
	return err
}

// readSecretFile reads a secret from a file or standard input, without
// the line break an editor or echo leaves at its end.
func readSecretFile(name string) (string, error) {
	raw, err := readFileOrStdin(name)
	if err != nil {
		return "", err
	}
	secret := strings.TrimRight(string(raw), "\r\n")
	if secret == "" {
		return "", fmt.Errorf("%s holds no secret", name)
	}
	return secret, nil
}
