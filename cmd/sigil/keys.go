package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// keys runs `sigil keys list|rotate|revoke KID` against the configured
// database, with the same settings as `sigil serve`.
func keys(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate" && args[0] != "revoke") {
		usage(stderr)
		return 2
	}
	rest := args[1:]
	var kid string
	if args[0] == "revoke" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprintln(stderr, "sigil: keys revoke needs the kid of the key to revoke (see sigil keys list)")
			return 2
		}
		kid, rest = rest[0], rest[1:]
	}
	cfg, log, err := loadConfig(rest, lookup, nil, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sigil: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := bootstrap.OpenAdmin(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "sigil: %v\n", err)
		return 1
	}
	defer admin.Close()

	if args[0] == "rotate" {
		res, err := admin.Rotate.Handle(ctx, application.RotateInput{Force: true})
		if err != nil {
			fmt.Fprintf(stderr, "sigil: %v\n", err)
			return 1
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
	}
	if args[0] == "revoke" {
		if code := revokeKey(ctx, admin, cfg, kid, stdout, stderr); code != 0 {
			return code
		}
	}
	list, err := admin.Keys.ListSigningKeys(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "sigil: %v\n", err)
		return 1
	}
	printKeys(stdout, list)
	return 0
}

// revokeKey removes kid at once and says who learns of it when.
func revokeKey(ctx context.Context, admin *bootstrap.Admin, cfg bootstrap.Config, kid string, stdout, stderr io.Writer) int {
	res, err := admin.Rotate.Revoke(ctx, kid)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		fmt.Fprintf(stderr, "sigil: no signing key %s (see sigil keys list)\n", kid)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "sigil: %v\n", err)
		return 1
	case !res.Done:
		fmt.Fprintln(stderr, "sigil: another node is changing the keys right now; try again in a moment")
		return 1
	}
	fmt.Fprintf(stdout, "revoked %s: every node refuses the tokens it signed as soon as it hears\n", kid)
	switch {
	case res.Plan.Activate != "":
		fmt.Fprintf(stdout, "%s signs from now on\n", res.Plan.Activate)
	case res.Published != "":
		fmt.Fprintf(stdout, "%s, made now, signs from now on\n", res.Published)
	}
	if res.AnnounceErr != nil {
		fmt.Fprintf(stderr, "sigil: could not tell the running nodes (%v); they learn of it at their next key check (key-rotation-check, %s)\n",
			res.AnnounceErr, cfg.KeyRotationCheck)
	} else if cfg.RedisAddr == "" {
		fmt.Fprintf(stdout, "without Redis, running nodes learn of it at their next key check (key-rotation-check, %s)\n", cfg.KeyRotationCheck)
	}
	return 0
}

func printKeys(w io.Writer, list []domain.SigningKey) {
	date := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tACTIVATED\tRETIRED")
	for _, k := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.State, date(k.CreatedAt), date(k.ActivatedAt), date(k.RetiredAt))
	}
	tw.Flush()
}
