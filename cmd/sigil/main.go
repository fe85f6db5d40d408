// Command sigil runs Sigil, an OAuth 2.0 authorization server and protected
// resource server for machine-to-machine access, and administers it.
//
//	sigil serve [--role auth|resource|all] [--config file.yaml] [--setting value ...]
//	sigil clients|keys ...       the registered clients and the signing keys
//	sigil token|introspect|revoke ...   the client side, against any server
//
// `sigil --help` and `sigil COMMAND --help` list the commands and every
// flag. The command line is spf13/cobra's (as Hydra's and kubectl's), so
// completion, help and suggestions for mistyped commands come with it.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// env is what the commands read of the process: its environment and its
// standard streams, which tests replace.
type env struct {
	lookup         func(string) (string, bool)
	stdout, stderr io.Writer
}

// run runs the command line args and returns the exit code: 0 on
// success, 2 for a command line that is not one (an unknown command or
// flag, a missing argument, a setting that does not parse), 1 when the
// command failed. Every error is one line on stderr, `sigil: ...`.
func run(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	root := newRootCommand(env{lookup: lookup, stdout: stdout, stderr: stderr})
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var exit exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	fmt.Fprintf(stderr, "sigil: %s\n", oneLine(err))
	if errors.As(err, new(usageError)) {
		return 2
	}
	return 1
}

func newRootCommand(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "sigil",
		Short: "An OAuth 2.0 authorization server and resource server for machine-to-machine access",
		Long: `Sigil is an OAuth 2.0 authorization server and protected resource server for
machine-to-machine access. "sigil serve" runs it; the other commands
administer it or act as one of its clients.

Every setting can be given as a flag of the commands that read settings
(serve, migrate, clients, keys), a SIGIL_* environment variable, or a key in
the YAML file named by --config (flags win over the environment, which wins
over the file). "sigil settings" lists them all.`,
		Version: readBuildVersion().Version,
		// Errors are printed once, by run, on one line; the usage is for
		// --help and for a command line without a command, not for a
		// command that failed.
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		RunE:          needsSubcommand,
		Annotations:   map[string]string{"group": "true"},
	}
	root.SetVersionTemplate("sigil {{.Version}}\n")
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetIn(stdin)
	root.SetFlagErrorFunc(flagError)
	root.SetUsageFunc(printUsage)
	root.AddGroup(
		&cobra.Group{ID: "server", Title: "Running Sigil:"},
		&cobra.Group{ID: "admin", Title: "Administering it (against its database):"},
		&cobra.Group{ID: "client", Title: "The client side (against any OAuth server):"},
	)
	root.SetHelpCommand(helpCommand(root))
	root.SetHelpCommandGroupID("")
	root.SetCompletionCommandGroupID("")
	for _, c := range []*cobra.Command{
		withGroup("server", serveCommand(e)),
		withGroup("server", settingsCommand(e)),
		withGroup("server", migrateCommand(e)),
		withGroup("server", healthcheckCommand(e)),
		withGroup("admin", clientsCommand(e)),
		withGroup("admin", keysCommand(e)),
		withGroup("admin", federationCommand(e)),
		withGroup("client", performCommand(e, "token")),
		withGroup("client", performCommand(e, "introspect")),
		withGroup("client", performCommand(e, "revoke")),
		versionCommand(e),
	} {
		root.AddCommand(c)
	}
	return root
}

// helpCommand is `sigil help [command]`: cobra's, but an unknown command
// is a usage error, as it is without help, rather than a usage on stdout
// and exit 0.
func helpCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(_ *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil {
				return usageError{err}
			}
			if len(rest) > 0 {
				return needsSubcommand(target, rest)
			}
			return target.Help()
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			target, _, err := root.Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, sub := range target.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name()+"\t"+sub.Short)
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	}
}

func withGroup(id string, c *cobra.Command) *cobra.Command {
	c.GroupID = id
	return c
}

// needsSubcommand is the RunE of a command that only groups others
// (sigil, sigil clients, sigil keys): without a command, sigil prints its
// usage on stderr and the others name their commands, exit 2; with an
// unknown one it names the nearest (cobra's suggestions), on one line.
func needsSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 && !c.HasParent() {
		fmt.Fprint(c.ErrOrStderr(), c.UsageString())
		return exitError{code: 2}
	}
	if len(args) == 0 {
		var names []string
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		return usagef("%s needs a command: %s (see %s --help)", c.Name(), strings.Join(names, ", "), c.CommandPath())
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usagef("%s (see %s --help)", msg, c.CommandPath())
}

// usageError is a command line that is not one: exit code 2.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitError ends the command with code and nothing more on stderr: what
// there was to say has been said (serve's log line of a failed start, the
// usage of a command line without a command).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// oneLine puts an error of several lines (a YAML parser's, say) on one,
// so that every failure is one line of stderr.
func oneLine(err error) string {
	var parts []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}

// noArgs refuses positional arguments, as a usage error.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q: %s takes none (see %s --help)", args[0], c.CommandPath(), c.CommandPath())
	}
	return nil
}
