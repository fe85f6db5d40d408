package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// adminTimeout bounds one clients or keys command: opening the database,
// the argon2id hashes of a file's secrets, and the work.
const adminTimeout = 5 * time.Minute

// clientsCommand is `sigil clients apply|list|get|delete`.
func clientsCommand(e env) *cobra.Command {
	c := &cobra.Command{
		Use:   "clients",
		Short: "Register, list, show and delete clients; add and expire their secrets; revoke their tokens",
		Long: `Register, list, show and delete the clients of a deployment: on its database
directly, with the same settings as "sigil serve" (database, key-encryption
key), or through a running node's admin API with --admin-url. The database
must exist: "sigil migrate" or the first "sigil serve" makes it.`,
		Args:        cobra.ArbitraryArgs,
		RunE:        needsSubcommand,
		Annotations: map[string]string{"group": "true"},
	}
	af := addAdminFlags(c)
	c.AddCommand(clientsApplyCommand(e, af), clientsListCommand(e, af), clientsGetCommand(e, af), clientsDeleteCommand(e, af),
		clientsAddSecretCommand(e, af), clientsExpireSecretCommand(e, af), clientsRevokeTokensCommand(e, af))
	return c
}

// withStore runs do with the store the flags choose, opened with the
// command's settings, and closes it.
func withStore(c *cobra.Command, e env, af *adminFlags, do func(ctx context.Context, s adminStore, cfg bootstrap.Config) error) error {
	cfg, log, err := af.settings.load(e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context(), adminTimeout)
	defer cancel()
	s, err := af.open(ctx, c, e, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	return do(ctx, s, cfg)
}

func clientsApplyCommand(e env, af *adminFlags) *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "apply --file FILE",
		Short: "Register or replace the clients of a YAML file",
		Long: `Register the clients of a YAML file, replacing those of the same ids. The
whole file is read and checked (an unknown key, a missing secret) before any
client is written. Secrets are stored only as argon2id hashes (and, for
client_secret_jwt, sealed under the key-encryption key); secret_env reads one
from the environment.`,
		Example: `  sigil clients apply --file clients.yaml
  vault kv get -field=clients sigil | sigil clients apply --file -`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("clients apply needs --file (- reads standard input)")
			}
			raw, err := readFileOrStdin(file)
			if err != nil {
				return err
			}
			inputs, err := bootstrap.ParseClientsFile(raw, e.lookup)
			if err != nil {
				return err
			}
			return withStore(c, e, af, func(ctx context.Context, s adminStore, _ bootstrap.Config) error {
				for _, in := range inputs {
					if _, err := s.ApplyClient(ctx, in); err != nil {
						return fmt.Errorf("client %s: %w", in.Client.ID, err)
					}
					fmt.Fprintf(e.stdout, "registered %s%s\n", in.Client.ID, assertionAlgorithms(in))
				}
				return nil
			})
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "YAML file of clients (- reads standard input)")
	_ = c.MarkFlagFilename("file", "yaml", "yml")
	return c
}

func clientsListCommand(e env, af *adminFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "list",
		Short: "List the registered clients, without any secret material",
		Args:  noArgs,
	}
	out := addOutputFlag(c, "table", tableFormats...)
	c.RunE = func(c *cobra.Command, _ []string) error {
		return withStore(c, e, af, func(ctx context.Context, s adminStore, _ bootstrap.Config) error {
			list, err := s.ListClients(ctx)
			if err != nil {
				return err
			}
			if out.value != "table" {
				views := make([]clientView, len(list))
				for i, cl := range list {
					views[i] = toClientView(cl)
				}
				return encode(e.stdout, out.value, views)
			}
			printClients(e.stdout, list)
			return nil
		})
	}
	return c
}

func clientsGetCommand(e env, af *adminFlags) *cobra.Command {
	c := &cobra.Command{
		Use:               "get ID",
		Short:             "Show one client, without any secret material",
		Args:              exactArgs(1, "clients get needs the id of the client (see sigil clients list)"),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	out := addOutputFlag(c, "table", tableFormats...)
	c.RunE = func(c *cobra.Command, args []string) error {
		return withStore(c, e, af, func(ctx context.Context, s adminStore, _ bootstrap.Config) error {
			cl, err := s.GetClient(ctx, args[0])
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no client %q", args[0])
			}
			if err != nil {
				return err
			}
			if out.value != "table" {
				return encode(e.stdout, out.value, toClientView(cl))
			}
			printClient(e.stdout, toClientView(cl))
			return nil
		})
	}
	return c
}

func clientsDeleteCommand(e env, af *adminFlags) *cobra.Command {
	var id string
	c := &cobra.Command{
		Use:     "delete ID",
		Short:   "Remove a client",
		Example: "  sigil clients delete billing\n  sigil clients delete --id billing",
		Args: func(c *cobra.Command, args []string) error {
			switch {
			case len(args) > 1 || (len(args) == 1 && id != ""):
				return usagef("clients delete takes one client id, as an argument or as --id")
			case len(args) == 0 && id == "":
				return usagef("clients delete needs --id, or the client id as an argument")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				id = args[0]
			}
			return withStore(c, e, af, func(ctx context.Context, s adminStore, _ bootstrap.Config) error {
				err := s.DeleteClient(ctx, id)
				if errors.Is(err, domain.ErrNotFound) {
					return fmt.Errorf("no client %q", id)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted %s\n", id)
				return nil
			})
		},
	}
	c.Flags().StringVar(&id, "id", "", "id of the client to remove (or give it as the argument)")
	return c
}

// exactArgs wants n positional arguments, and says need otherwise.
func exactArgs(n int, need string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) < n:
			return usagef("%s", need)
		case len(args) > n:
			return usagef("unexpected argument %q (see %s --help)", args[n], c.CommandPath())
		}
		return nil
	}
}

// clientView is a client as -o json and -o yaml print it: what the
// table shows and the rest of its registration, never a secret's hash
// or sealed form.
type clientView struct {
	ID            string   `json:"id" yaml:"id"`
	TokenFormat   string   `json:"token_format" yaml:"token_format"`
	TokenLifetime string   `json:"token_lifetime,omitempty" yaml:"token_lifetime,omitempty"`
	AuthMethods   []string `json:"auth_methods" yaml:"auth_methods"`
	GrantTypes    []string `json:"grant_types" yaml:"grant_types"`
	Scopes        []string `json:"scopes" yaml:"scopes"`
	DefaultScopes []string `json:"default_scopes" yaml:"default_scopes"`
	Resources     []string `json:"resources" yaml:"resources"`
	Audience      []string `json:"audience" yaml:"audience"`
	Introspect    bool     `json:"introspect" yaml:"introspect"`
	DPoPBound     bool     `json:"dpop_bound_access_tokens" yaml:"dpop_bound_access_tokens"`
	CertBound     bool     `json:"tls_client_certificate_bound_access_tokens" yaml:"tls_client_certificate_bound_access_tokens"`
	// TLSSubject is the RFC 8705 §2.1.2 parameter and its value, as
	// "tls_client_auth_subject_dn=CN=reports"; empty without one.
	TLSSubject string       `json:"tls_client_auth_subject,omitempty" yaml:"tls_client_auth_subject,omitempty"`
	Profile    string       `json:"profile,omitempty" yaml:"profile,omitempty"`
	JWKSURI    string       `json:"jwks_uri,omitempty" yaml:"jwks_uri,omitempty"`
	JWKS       string       `json:"jwks,omitempty" yaml:"jwks,omitempty"`
	Secrets    []secretView `json:"secrets" yaml:"secrets"`
}

// secretView is a secret's id and expiry: never the secret.
type secretView struct {
	ID        string `json:"id" yaml:"id"`
	ExpiresAt string `json:"expires_at,omitempty" yaml:"expires_at,omitempty"`
}

func toClientView(c domain.Client) clientView {
	v := clientView{
		ID: c.ID, TokenFormat: string(c.TokenFormat),
		AuthMethods: words(c.AuthMethods), GrantTypes: words(c.GrantTypes),
		Scopes: words(c.AllowedScopes), DefaultScopes: words(c.DefaultScopes),
		Resources: orEmpty(c.Resources), Audience: orEmpty(c.Audience),
		Introspect: c.CanIntrospect, DPoPBound: c.DPoPBound, CertBound: c.CertBound, Profile: string(c.Profile),
		JWKSURI: c.JWKSURI, JWKS: c.JWKS,
		Secrets: make([]secretView, len(c.Secrets)),
	}
	if c.TokenLifetime > 0 {
		v.TokenLifetime = c.TokenLifetime.String()
	}
	if !c.TLSSubject.IsZero() {
		v.TLSSubject = string(c.TLSSubject.Kind) + "=" + c.TLSSubject.Value
	}
	for i, s := range c.Secrets {
		v.Secrets[i] = secretView{ID: s.ID}
		if !s.ExpiresAt.IsZero() {
			v.Secrets[i].ExpiresAt = s.ExpiresAt.UTC().Format(time.RFC3339)
		}
	}
	return v
}

// words is a list of string-like values as strings, never nil, so that
// JSON prints [] rather than null.
func words[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, w := range in {
		out[i] = string(w)
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// secretsCell is the table's SECRETS cell: ids and expiries only.
func secretsCell(secrets []secretView) string {
	cells := make([]string, len(secrets))
	for i, s := range secrets {
		cells[i] = s.ID
		if s.ExpiresAt != "" {
			cells[i] += " (until " + s.ExpiresAt + ")"
		}
	}
	return strings.Join(cells, ", ")
}

// printClients lists clients without any secret material: secret ids and
// expiries only.
func printClients(w io.Writer, list []domain.Client) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFORMAT\tMETHODS\tSCOPES\tRESOURCES\tSECRETS")
	for _, c := range list {
		v := toClientView(c)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.TokenFormat, strings.Join(v.AuthMethods, ","),
			c.AllowedScopes.String(), strings.Join(v.Resources, ","), secretsCell(v.Secrets))
	}
	tw.Flush()
}

// printClient shows one client as a column of names and values.
func printClient(w io.Writer, v clientView) {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	lifetime := v.TokenLifetime
	if lifetime == "" {
		lifetime = "default"
	}
	jwks := "-"
	switch {
	case v.JWKSURI != "":
		jwks = v.JWKSURI
	case v.JWKS != "":
		jwks = "inline"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{
		{"ID", v.ID},
		{"FORMAT", v.TokenFormat},
		{"LIFETIME", lifetime},
		{"METHODS", dash(strings.Join(v.AuthMethods, ","))},
		{"GRANTS", dash(strings.Join(v.GrantTypes, ","))},
		{"SCOPES", dash(strings.Join(v.Scopes, " "))},
		{"DEFAULT SCOPES", dash(strings.Join(v.DefaultScopes, " "))},
		{"RESOURCES", dash(strings.Join(v.Resources, ","))},
		{"AUDIENCE", dash(strings.Join(v.Audience, ","))},
		{"INTROSPECT", fmt.Sprint(v.Introspect)},
		{"DPOP BOUND", fmt.Sprint(v.DPoPBound)},
		{"CERT BOUND", fmt.Sprint(v.CertBound)},
		{"TLS SUBJECT", dash(v.TLSSubject)},
		{"PROFILE", dash(v.Profile)},
		{"JWKS", jwks},
		{"SECRETS", dash(secretsCell(v.Secrets))},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	tw.Flush()
}

// assertionAlgorithms says which client_secret_jwt algorithms a client's
// secrets can all sign with, as the token endpoint's answer to any other
// is a plain invalid_client: "" for a client without the method.
func assertionAlgorithms(in application.RegisterClientInput) string {
	if !in.Client.AllowsAuthMethod(domain.AuthClientSecretJWT) || len(in.Secrets) == 0 {
		return ""
	}
	shortest := len(in.Secrets[0].Secret)
	for _, s := range in.Secrets[1:] {
		shortest = min(shortest, len(s.Secret))
	}
	algs := josekit.HMACAlgorithmsFor(shortest)
	var missing []string
	for _, alg := range josekit.HMACAlgorithmsFor(math.MaxInt) {
		if need := josekit.HMACMinSecret(alg); shortest < need {
			missing = append(missing, fmt.Sprintf("%s needs secrets of %d bytes", alg, need))
		}
	}
	note := ""
	if len(missing) > 0 {
		note = "; " + strings.Join(missing, ", ")
	}
	return fmt.Sprintf(" (client_secret_jwt with %s%s)", strings.Join(algs, ", "), note)
}

// stdin is where `--file -` reads; tests replace it.
var stdin io.Reader = os.Stdin

// readFileOrStdin reads the file named, or standard input for "-".
func readFileOrStdin(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}
