package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// clients runs `sigil clients apply|list|delete` against the configured
// database, with the same settings as `sigil serve`.
func clients(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var file, id string
	cfg, log, err := loadConfig(args[1:], lookup, func(fs *flag.FlagSet) {
		fs.StringVar(&file, "file", "", "clients file (apply)")
		fs.StringVar(&id, "id", "", "client id (delete)")
	}, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sigil: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var run func(*bootstrap.Admin) error
	switch args[0] {
	case "apply":
		if file == "" {
			fmt.Fprintln(stderr, "sigil: clients apply needs --file")
			return 2
		}
		raw, err := readFileOrStdin(file)
		if err != nil {
			fmt.Fprintf(stderr, "sigil: %v\n", err)
			return 1
		}
		inputs, err := bootstrap.ParseClientsFile(raw, lookup)
		if err != nil {
			fmt.Fprintf(stderr, "sigil: %v\n", err)
			return 1
		}
		run = func(a *bootstrap.Admin) error {
			for _, in := range inputs {
				if err := a.Register.Handle(ctx, in); err != nil {
					return fmt.Errorf("client %s: %w", in.Client.ID, err)
				}
				fmt.Fprintf(stdout, "registered %s%s\n", in.Client.ID, assertionAlgorithms(in))
				if err := a.ClientChanged(ctx, in.Client.ID); err != nil {
					fmt.Fprintf(stderr, "sigil: running nodes will see %s within client-cache-ttl: %v\n", in.Client.ID, err)
				}
			}
			return nil
		}
	case "list":
		run = func(a *bootstrap.Admin) error {
			list, err := a.Clients.ListClients(ctx)
			if err != nil {
				return err
			}
			printClients(stdout, list)
			return nil
		}
	case "delete":
		if id == "" {
			fmt.Fprintln(stderr, "sigil: clients delete needs --id")
			return 2
		}
		run = func(a *bootstrap.Admin) error {
			err := a.Clients.DeleteClient(ctx, id)
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no client %q", id)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "deleted %s\n", id)
			if err := a.ClientChanged(ctx, id); err != nil {
				fmt.Fprintf(stderr, "sigil: running nodes will drop %s within client-cache-ttl: %v\n", id, err)
			}
			return nil
		}
	default:
		fmt.Fprintf(stderr, "sigil: unknown clients command %q\n\n", args[0])
		usage(stderr)
		return 2
	}

	admin, err := bootstrap.OpenAdmin(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "sigil: %v\n", err)
		return 1
	}
	defer admin.Close()
	if err := run(admin); err != nil {
		fmt.Fprintf(stderr, "sigil: %v\n", err)
		return 1
	}
	return 0
}

// printClients lists clients without any secret material: secret ids and
// expiries only.
func printClients(w io.Writer, list []domain.Client) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFORMAT\tMETHODS\tSCOPES\tRESOURCES\tSECRETS")
	for _, c := range list {
		methods := make([]string, len(c.AuthMethods))
		for i, m := range c.AuthMethods {
			methods[i] = string(m)
		}
		secrets := make([]string, len(c.Secrets))
		for i, s := range c.Secrets {
			secrets[i] = s.ID
			if !s.ExpiresAt.IsZero() {
				secrets[i] += " (until " + s.ExpiresAt.UTC().Format(time.RFC3339) + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.TokenFormat, strings.Join(methods, ","),
			c.AllowedScopes.String(), strings.Join(c.Resources, ","), strings.Join(secrets, ", "))
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
