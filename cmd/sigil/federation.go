package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// federationCommand is `sigil federation list|get|apply|delete`.
func federationCommand(e env) *cobra.Command {
	c := &cobra.Command{
		Use:   "federation",
		Short: "Trust, list, show and stop trusting external issuers (workload identity federation)",
		Long: `Manage the trusted external issuers whose tokens authenticate federated_jwt
clients, serve the jwt-bearer grant and, with subject_token_scopes, are token
exchange subject tokens: on the database directly, with the same settings as
"sigil serve", or through a running node's admin API with --admin-url. Every
auth node trusts a change within moments over the event feed (Redis), and at
the latest after client-cache-ttl. The issuers of the federation file
(federation-file) are not managed here: the file wins, and a change to one of
them is refused.`,
		Args:        cobra.ArbitraryArgs,
		RunE:        needsSubcommand,
		Annotations: map[string]string{"group": "true"},
	}
	af := addAdminFlags(c)
	c.AddCommand(federationListCommand(e, af), federationGetCommand(e, af), federationApplyCommand(e, af), federationDeleteCommand(e, af))
	return c
}

func federationListCommand(e env, af *adminFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "list",
		Short: "List the trusted issuers managed through the admin API",
		Args:  noArgs,
	}
	out := addOutputFlag(c, "table", tableFormats...)
	c.RunE = func(c *cobra.Command, _ []string) error {
		return withStore(c, e, af, func(ctx context.Context, s adminStore, _ bootstrap.Config) error {
			list, err := s.ListFederatedIssuers(ctx)
			if err != nil {
				return err
			}
			if out.value != "table" {
				entries := make([]bootstrap.FederationEntry, len(list))
				for i, f := range list {
					entries[i] = bootstrap.FederationEntryOf(f)
				}
				return encode(e.stdout, out.value, entries)
			}
			printIssuers(e.stdout, list)
			return nil
		})
	}
	return c
}

func federationGetCommand(e env, af *adminFlags) *cobra.Command {
	c := &cobra.Command{
		Use:               "get ISSUER",
		Short:             "Show one trusted issuer as it was written (-o yaml prints an entry apply takes back)",
		Args:              exactArgs(1, "federation get needs the issuer URL (see sigil federation list)"),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	out := addOutputFlag(c, "table", tableFormats...)
	c.RunE = func(c *cobra.Command, args []string) error {
		return withStore(c, e, af, func(ctx context.Context, s adminStore, _ bootstrap.Config) error {
			f, err := s.GetFederatedIssuer(ctx, args[0])
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no federated issuer %q managed through the admin API", args[0])
			}
			if err != nil {
				return err
			}
			if out.value != "table" {
				return encode(e.stdout, out.value, bootstrap.FederationEntryOf(f))
			}
			printIssuer(e.stdout, f)
			return nil
		})
	}
	return c
}

func federationApplyCommand(e env, af *adminFlags) *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "apply --file FILE",
		Short: "Trust the issuers of a YAML or JSON file, replacing those of the same issuer",
		Long: `Trust the issuers of a file: one entry of a federation file, or a whole one
(issuers: [...]), in YAML or JSON. Each is checked by the rules the federation
file is checked by; a jwks_file is read, relative to the file, and stored
inline as jwks. An entry replaces the one of the same issuer whole.`,
		Example: `  sigil federation apply --file k8s.yaml
  sigil federation get https://kubernetes.default.svc -o yaml > k8s.yaml  # edit, then apply`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("federation apply needs --file (- reads standard input)")
			}
			raw, err := readFileOrStdin(file)
			if err != nil {
				return err
			}
			dir := "."
			if file != "-" {
				dir = filepath.Dir(file)
			}
			specs, err := bootstrap.ParseFederationEntries(raw, dir)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			return withStore(c, e, af, func(ctx context.Context, s adminStore, _ bootstrap.Config) error {
				for _, spec := range specs {
					res, err := s.ApplyFederatedIssuer(ctx, spec)
					if err != nil {
						return fmt.Errorf("issuer %s: %w", spec.Issuer, err)
					}
					verb := "changed"
					if res.Created {
						verb = "trusted"
					}
					fmt.Fprintf(e.stdout, "%s %s\n", verb, spec.Issuer)
				}
				return nil
			})
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "YAML or JSON file of one issuer or a federation file (- reads standard input)")
	_ = c.MarkFlagFilename("file", "yaml", "yml", "json")
	return c
}

func federationDeleteCommand(e env, af *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:               "delete ISSUER",
		Short:             "Stop trusting an issuer",
		Args:              exactArgs(1, "federation delete needs the issuer URL (see sigil federation list)"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, args []string) error {
			return withStore(c, e, af, func(ctx context.Context, s adminStore, _ bootstrap.Config) error {
				err := s.DeleteFederatedIssuer(ctx, args[0])
				if errors.Is(err, domain.ErrNotFound) {
					return fmt.Errorf("no federated issuer %q managed through the admin API", args[0])
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted %s\n", args[0])
				return nil
			})
		},
	}
}

// keysCell says where an issuer's keys come from.
func keysCell(f application.FederatedIssuerSpec) string {
	switch {
	case f.JWKS != "":
		return "inline jwks"
	case f.JWKSURI != "":
		return f.JWKSURI
	case f.DiscoveryURL != "":
		return f.DiscoveryURL
	}
	return "discovery"
}

// mappingCell is a mapping as one cell: client=sub, with its claims.
func mappingCell(m application.FederationMapping) string {
	var parts []string
	if m.Subject != "" {
		parts = append(parts, "sub="+m.Subject)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Claims)) {
		parts = append(parts, k+"="+m.Claims[k])
	}
	return m.Client + " (" + strings.Join(parts, ", ") + ")"
}

func printIssuers(w io.Writer, list []application.FederatedIssuerSpec) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ISSUER\tKEYS\tCLIENTS\tSUBJECT TOKEN SCOPES")
	for _, f := range list {
		clients := make([]string, len(f.Clients))
		for i, m := range f.Clients {
			clients[i] = m.Client
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Issuer, keysCell(f), strings.Join(clients, ","), strings.Join(f.SubjectTokenScopes, " "))
	}
	tw.Flush()
}

func printIssuer(w io.Writer, f application.FederatedIssuerSpec) {
	or := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"ISSUER", f.Issuer},
		{"KEYS", keysCell(f)},
		{"AUDIENCES", or(strings.Join(f.Audiences, ","), "default (issuer, token endpoint)")},
		{"ALGORITHMS", or(strings.Join(f.Algorithms, ","), "default")},
		{"MAX LIFETIME", or(f.MaxLifetime, "default (1h)")},
		{"ALLOW REUSE", fmt.Sprint(f.AllowReuse)},
		{"SUBJECT TOKEN SCOPES", or(strings.Join(f.SubjectTokenScopes, " "), "-")},
	}
	for _, m := range f.Clients {
		rows = append(rows, [2]string{"CLIENT", mappingCell(m)})
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	tw.Flush()
}
