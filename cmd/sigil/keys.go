package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// keys runs `sigil keys list|rotate` against the configured database,
// with the same settings as `sigil serve`.
func keys(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate") {
		usage(stderr)
		return 2
	}
	cfg, err := bootstrap.Load(args[1:], getenv)
	if err != nil {
		fmt.Fprintf(stderr, "sigil: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := bootstrap.OpenAdmin(ctx, cfg, bootstrap.NewLogger(cfg, stderr))
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
		case res.Published != "":
			fmt.Fprintf(stdout, "published %s; it signs from about %s, once resource servers have had key-publish-lead (%s) to fetch it\n",
				res.Published, time.Now().Add(cfg.KeyPublishLead).UTC().Format(time.RFC3339), cfg.KeyPublishLead)
		default:
			fmt.Fprintln(stdout, "a rotation is already under way: a published key is waiting to sign")
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
