package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// keysCommand is `sigil keys list|rotate|revoke KID`.
func keysCommand(e env) *cobra.Command {
	c := &cobra.Command{
		Use:   "keys",
		Short: "List, rotate and revoke the signing keys",
		Long: `List, rotate and revoke the signing keys: on the database directly, with the
same settings as "sigil serve", or through a running node's admin API with
--admin-url. A rotation is staged: the new key is published in the JWKS for
key-publish-lead before it signs, and the old one stays there for
key-retire-period after it stops.`,
		Args:        cobra.ArbitraryArgs,
		RunE:        needsSubcommand,
		Annotations: map[string]string{"group": "true"},
	}
	af := addAdminFlags(c)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the signing keys and their states",
		Args:  noArgs,
	}
	out := addOutputFlag(list, "table", tableFormats...)
	list.RunE = func(c *cobra.Command, _ []string) error {
		return withStore(c, e, af, func(ctx context.Context, s adminStore, _ bootstrap.Config) error {
			return listKeys(ctx, s, out.value, e.stdout)
		})
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Start a staged rotation now",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withStore(c, e, af, func(ctx context.Context, s adminStore, cfg bootstrap.Config) error {
				if err := rotateKeys(ctx, s, cfg, e.stdout); err != nil {
					return err
				}
				return listKeys(ctx, s, "table", e.stdout)
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke KID",
		Short: "Remove a key at once (a leaked key)",
		Long: `Remove a signing key at once, for a leaked one: every node refuses the tokens
it signed as soon as it hears. If it was the active key, a published key signs
from now on, or a new one is made.`,
		Args: exactArgs(1, "keys revoke needs the kid of the key to revoke (see sigil keys list)"),
		RunE: func(c *cobra.Command, args []string) error {
			return withStore(c, e, af, func(ctx context.Context, s adminStore, cfg bootstrap.Config) error {
				if err := revokeKey(ctx, s, cfg, args[0], e); err != nil {
					return err
				}
				return listKeys(ctx, s, "table", e.stdout)
			})
		},
	}
	c.AddCommand(list, rotate, revoke)
	return c
}

func rotateKeys(ctx context.Context, s adminStore, cfg bootstrap.Config, stdout io.Writer) error {
	res, err := s.RotateKeys(ctx)
	if err != nil {
		return err
	}
	switch {
	case !res.Done:
		fmt.Fprintln(stdout, "another node is changing the keys right now; try again in a moment")
	case res.Published != "" && res.Plan.ActivateNow:
		// The first key of a new database: nothing can have cached a
		// key set yet, so it signs at once.
		fmt.Fprintf(stdout, "made %s, the first signing key; it signs from now on\n", res.Published)
	case res.Published != "":
		fmt.Fprintf(stdout, "published %s; it signs from about %s, once resource servers have had key-publish-lead (%s) to fetch it\n",
			res.Published, time.Now().Add(cfg.KeyPublishLead).UTC().Format(time.RFC3339), cfg.KeyPublishLead)
	default:
		fmt.Fprintln(stdout, "a rotation is already under way: a published key is waiting to sign")
	}
	return nil
}

// revokeKey removes kid at once and says who learns of it when.
func revokeKey(ctx context.Context, s adminStore, cfg bootstrap.Config, kid string, e env) error {
	res, err := s.RevokeKey(ctx, kid)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return fmt.Errorf("no signing key %s (see sigil keys list)", kid)
	case err != nil:
		return err
	case !res.Done:
		return errors.New("another node is changing the keys right now; try again in a moment")
	}
	fmt.Fprintf(e.stdout, "revoked %s: every node refuses the tokens it signed as soon as it hears\n", kid)
	switch {
	case res.Plan.Activate != "":
		fmt.Fprintf(e.stdout, "%s signs from now on\n", res.Plan.Activate)
	case res.Published != "":
		fmt.Fprintf(e.stdout, "%s, made now, signs from now on\n", res.Published)
	}
	if res.AnnounceErr != nil {
		fmt.Fprintf(e.stderr, "sigil: could not tell the running nodes (%v); they learn of it at their next key check (key-rotation-check, %s)\n",
			res.AnnounceErr, cfg.KeyRotationCheck)
	} else if cfg.RedisAddr == "" {
		fmt.Fprintf(e.stdout, "without Redis, running nodes learn of it at their next key check (key-rotation-check, %s)\n", cfg.KeyRotationCheck)
	}
	return nil
}

// keyView is a signing key as -o json and -o yaml print it: its id,
// algorithm, state and dates, never its private half.
type keyView struct {
	KID         string `json:"kid" yaml:"kid"`
	Algorithm   string `json:"alg" yaml:"alg"`
	State       string `json:"state" yaml:"state"`
	CreatedAt   string `json:"created_at" yaml:"created_at"`
	ActivatedAt string `json:"activated_at,omitempty" yaml:"activated_at,omitempty"`
	RetiredAt   string `json:"retired_at,omitempty" yaml:"retired_at,omitempty"`
}

func toKeyView(k domain.SigningKey) keyView {
	date := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	return keyView{KID: k.ID, Algorithm: string(k.Algorithm), State: string(k.State),
		CreatedAt: date(k.CreatedAt), ActivatedAt: date(k.ActivatedAt), RetiredAt: date(k.RetiredAt)}
}

func listKeys(ctx context.Context, s adminStore, format string, w io.Writer) error {
	list, err := s.ListKeys(ctx)
	if err != nil {
		return err
	}
	views := make([]keyView, len(list))
	for i, k := range list {
		views[i] = toKeyView(k)
	}
	if format != "table" {
		return encode(w, format, views)
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tACTIVATED\tRETIRED")
	for _, k := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.Algorithm, k.State, dash(k.CreatedAt), dash(k.ActivatedAt), dash(k.RetiredAt))
	}
	return tw.Flush()
}
