package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sigilauth/sigil/bootstrap"
)

// cli runs sigil's command line in process with only vars in its
// environment, and returns its exit code, standard output and error.
func cli(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	environ = func() []string {
		var kv []string
		for k, v := range vars {
			kv = append(kv, k+"="+v)
		}
		return kv
	}
	code := run(args, func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// newDatabase makes an SQLite database with `sigil migrate`, as an
// operator does before applying clients ahead of the first start.
func newDatabase(t *testing.T) string {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "sigil.db")
	if code, out, errOut := cli(t, nil, "migrate", "--database-dsn", dsn, "--log-level", "warn"); code != 0 || out != "database ready: sqlite "+dsn+"\n" {
		t.Fatalf("sigil migrate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	return dsn
}

// TestCommandsRefuseADatabaseThatDoesNotExist: run in the wrong folder, a
// command says so instead of creating an empty database there.
func TestCommandsRefuseADatabaseThatDoesNotExist(t *testing.T) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "sigil.db")
	for _, args := range [][]string{{"clients", "list"}, {"clients", "get", "x"}, {"keys", "list"}, {"keys", "rotate"}, {"keys", "revoke", "x"}, {"clients", "delete", "--id", "x"}} {
		code, _, errOut := cli(t, nil, append(args, "--database-dsn", dsn)...)
		if code != 1 || !strings.Contains(errOut, "sigil: no database at "+dsn+": `sigil serve` creates it") {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and no database at ...", args, code, errOut)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("the refused commands left %d files behind (%s ...)", len(entries), entries[0].Name())
	}
	newDatabase(t)
}

// TestAnExistingDatabaseWithoutItsKeyFileIsRefused: a new key-encryption
// key could not open what the lost one sealed, so none is made for a
// database that exists.
func TestAnExistingDatabaseWithoutItsKeyFileIsRefused(t *testing.T) {
	dsn := newDatabase(t)
	if err := os.Remove(dsn + ".kek"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"keys", "list"}, {"migrate"}} {
		code, _, errOut := cli(t, nil, append(args, "--database-dsn", dsn)...)
		if code != 1 || !strings.Contains(errOut, "the database "+dsn+" exists but its key-encryption key file "+dsn+".kek does not") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	if _, err := os.Stat(dsn + ".kek"); err == nil {
		t.Error("a new key-encryption key file was made for the existing database")
	}
}

// TestUsageErrorsExit2OnOneLine: a command line that is not one exits 2
// with one line naming the mistake, and the nearest command or flag for
// a typo; bare sigil prints its usage.
func TestUsageErrorsExit2OnOneLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"an unknown command", []string{"srve"}, `sigil: unknown command "srve" for "sigil"; did you mean serve? (see sigil --help)`},
		{"an unknown clients command", []string{"clients", "lst"}, `sigil: unknown command "lst" for "sigil clients"; did you mean list`},
		{"clients without a command", []string{"clients"}, "sigil: clients needs a command: add-secret, apply, delete, expire-secret, get, list, revoke-tokens (see sigil clients --help)"},
		{"keys without a command", []string{"keys"}, "sigil: keys needs a command: list, revoke, rotate"},
		{"keys revoke without a kid", []string{"keys", "revoke"}, "sigil: keys revoke needs the kid of the key to revoke"},
		{"clients get without an id", []string{"clients", "get"}, "sigil: clients get needs the id of the client"},
		{"a mistyped flag", []string{"serve", "--auth-adr", ":9000"}, "sigil: unknown flag --auth-adr; did you mean --auth-addr? (see sigil serve --help)"},
		{"a mistyped flag of a subcommand", []string{"clients", "list", "--databse-dsn", "x"}, "did you mean --database-dsn?"},
		{"a mistyped flag of a client command", []string{"token", "--isuer", "x"}, "did you mean --issuer?"},
		{"a flag far from any", []string{"version", "--zzzzzzzz"}, "sigil: unknown flag --zzzzzzzz (see sigil version --help)"},
		{"an unknown shorthand", []string{"version", "-x"}, "sigil: unknown flag -x in -x (see sigil version --help)"},
		{"a long flag with one dash", []string{"serve", "-auth-addr", ":9000"}, "sigil: unknown flag -a in -auth-addr; long flags take two dashes: --auth-addr"},
		{"a mistyped long flag with one dash", []string{"clients", "list", "-database-dns=x"}, "did you mean --database-dsn?"},
		{"a bool setting's value as the next argument, not a stray one", []string{"serve", "--resource-audience-check", "maybe"}, `sigil: --resource-audience-check "maybe"`},
		{"an output format that is not one", []string{"version", "-o", "xml"}, `sigil: invalid argument "xml" for "-o, --output" flag: "xml" is not one of table, json, yaml, text`},
		{"a value the flag cannot hold", []string{"healthcheck", "--timeout", "soon"}, `invalid argument "soon" for "--timeout" flag`},
		{"a stray argument", []string{"migrate", "now"}, `sigil: unexpected argument "now": sigil migrate takes none`},
		{"help for an unknown command", []string{"help", "clients", "ad"}, `sigil: unknown command "ad" for "sigil clients"`},
		{"the token twice", []string{"introspect", "--issuer", "http://x", "a", "b"}, `unexpected argument "b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := cli(t, nil, tc.args...)
			if code != 2 || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and the one line %q", code, out, errOut, tc.want)
			}
		})
	}
	code, out, errOut := cli(t, nil)
	if code != 2 || out != "" || !strings.Contains(errOut, "Usage:\n  sigil [command]") || !strings.Contains(errOut, "\n  serve ") {
		t.Errorf("bare sigil: exit %d, stdout %q, stderr %q; want the usage on stderr and exit 2", code, out, errOut)
	}
}

// TestHelpListsEveryFlag: each command's --help, on stdout with exit 0,
// names every flag the command takes, its own and the settings; and the
// settings with their variables and defaults.
func TestHelpListsEveryFlag(t *testing.T) {
	root := newRootCommand(env{lookup: func(string) (string, bool) { return "", false }, stdout: io.Discard, stderr: io.Discard})
	// As Execute adds them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var commands []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		commands = append(commands, c)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				walk(sub)
			}
		}
	}
	walk(root)
	if len(commands) < 24 {
		t.Fatalf("found %d commands; the walk is broken", len(commands))
	}
	for _, c := range commands {
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(strings.Join(append([]string{"sigil"}, path...), " "), func(t *testing.T) {
			code, out, errOut := cli(t, nil, append(path, "--help")...)
			if code != 0 || errOut != "" || !strings.Contains(out, "Usage:\n") {
				t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
			}
			// The flags of a fresh tree, as cobra parsed none of them.
			c.InitDefaultHelpFlag()
			visit := func(f *pflag.Flag) {
				if !f.Hidden && !strings.Contains(out, "--"+f.Name+" ") {
					t.Errorf("the help does not list --%s", f.Name)
				}
			}
			c.LocalFlags().VisitAll(visit)
			c.InheritedFlags().VisitAll(visit)
		})
	}

	_, out, _ := cli(t, nil, "serve", "--help")
	for _, s := range bootstrap.Settings {
		if !strings.Contains(out, "    --"+s.Name+" ") || !strings.Contains(out, s.Env()) || !strings.Contains(out, fmt.Sprintf("default %q]", s.Default)) {
			t.Errorf("sigil serve --help does not list --%s with %s and its default %q", s.Name, s.Env(), s.Default)
		}
	}
	for _, group := range []string{"  Process:", "  TLS:", "  Authorization server:", "  Resource server:", "  Storage:"} {
		if !strings.Contains(out, "\n"+group+"\n") {
			t.Errorf("sigil serve --help has no group %q", group)
		}
	}
	if strings.Contains(out, "resource-jwks-refresh") {
		t.Error("sigil serve --help lists a former name")
	}
	if _, out, _ := cli(t, nil, "help", "clients", "apply"); !strings.Contains(out, "--file ") || !strings.Contains(out, "--database-dsn ") {
		t.Errorf("sigil help clients apply:\n%s", out)
	}
}

// TestCompletion: cobra's completion scripts, for the four shells, and
// its completion of a command's flags.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "__start_sigil",
		"zsh":        "#compdef sigil",
		"fish":       "complete -c sigil",
		"powershell": "Register-ArgumentCompleter",
	} {
		code, out, errOut := cli(t, nil, "completion", shell)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, stderr %q, %d bytes without %q", shell, code, errOut, len(out), want)
		}
	}
	code, out, _ := cli(t, nil, "__complete", "serve", "--auth-a")
	if code != 0 || !strings.Contains(out, "--auth-addr") {
		t.Errorf("completing serve --auth-a: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, nil, "__complete", "clients", "list", "-o", "")
	if code != 0 || !strings.Contains(out, "json\n") || !strings.Contains(out, "yaml\n") {
		t.Errorf("completing clients list -o: exit %d\n%s", code, out)
	}
}

func TestSettingsListsEverySetting(t *testing.T) {
	code, out, _ := cli(t, nil, "settings")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(bootstrap.Settings) {
		t.Fatalf("%d lines for %d settings", len(lines), len(bootstrap.Settings))
	}
	for i, s := range bootstrap.Settings {
		if f := strings.Fields(lines[i]); len(f) < 2 || f[0] != "--"+s.Name || f[1] != s.Env() {
			t.Errorf("line %d is %q; want --%s %s first", i+1, lines[i], s.Name, s.Env())
		}
	}
}

func TestServeRefusesBadSettingsBeforeStarting(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"an unknown flag", nil, []string{"--auth-adr", ":9000"}, "unknown flag --auth-adr; did you mean --auth-addr?"},
		{"a former name's value that does not parse", nil, []string{"--resource-upstream-timeout", "soon"}, `--resource-upstream-timeout "soon" is not a duration`},
		{"a bool that is not one", nil, []string{"--resource-audience-check=maybe"}, `--resource-audience-check "maybe"`},
		{"an unknown role", nil, []string{"--role", "proxy"}, `role "proxy" is not one of auth, resource, all`},
		{"a duration that is not one", map[string]string{"SIGIL_KEY_PUBLISH_LEAD": "ten minutes"}, nil, "SIGIL_KEY_PUBLISH_LEAD"},
		{"a stray argument", nil, []string{"auth"}, `unexpected argument "auth"`},
		{"a demo mode that is not one", map[string]string{"SIGIL_DEMO_CLIENTS": "yes"}, nil, `SIGIL_DEMO_CLIENTS "yes" is not one of auto, true, false`},
		{"an empty variable, which is a value", map[string]string{"SIGIL_RSA_BITS": ""}, nil, `SIGIL_RSA_BITS "" is not a whole number`},
		{"a former name beside the new one", nil, []string{"--resource-jwks-max-age", "1m", "--jwks-max-age", "1m"}, "give only --jwks-max-age"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := cli(t, tc.vars, append([]string{"serve"}, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, errOut, tc.want)
			}
		})
	}
}

// TestClientsAndKeysCommands registers, lists and deletes clients and
// rotates and revokes keys on an embedded database, as an operator would.
func TestClientsAndKeysCommands(t *testing.T) {
	dir := t.TempDir()
	db := []string{"--database-dsn", newDatabase(t), "--log-level", "warn"}
	file := filepath.Join(dir, "clients.yaml")
	if err := os.WriteFile(file, []byte(`clients:
  - id: billing
    token_format: opaque
    scopes: [country.read]
    secrets:
      - {id: "2026-12", secret_env: BILLING_SECRET}
      - {id: "2026-11", secret: the-old-billing-secret-0123456789, expires_at: "2030-01-01T00:00:00Z"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"BILLING_SECRET": "s3cret-from-the-environment-0123"}

	code, out, errOut := cli(t, vars, append([]string{"clients", "apply", "--file", file}, db...)...)
	if code != 0 || out != "registered billing\n" {
		t.Fatalf("apply: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = cli(t, nil, append([]string{"clients", "list"}, db...)...)
	if code != 0 || !regexp.MustCompile(`(?m)^billing\s+opaque\s+client_secret_basic,client_secret_post\s+country.read\s+2026-12, 2026-11 \(until 2030-01-01T00:00:00Z\)$`).MatchString(out) {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	for _, secret := range []string{"s3cret-from-the-environment", "the-old-billing-secret", "argon2id", "$"} {
		if strings.Contains(out, secret) {
			t.Errorf("list shows secret material %q:\n%s", secret, out)
		}
	}

	// Mistakes are explained and change nothing.
	for name, args := range map[string][]string{
		"apply without --file":     {"clients", "apply"},
		"delete without --id":      {"clients", "delete"},
		"apply of a bad file":      {"clients", "apply", "--file", filepath.Join(dir, "missing.yaml")},
		"delete of no client":      {"clients", "delete", "--id", "nobody"},
		"revoke of an unknown key": {"keys", "revoke", "no-such-kid"},
	} {
		if code, _, errOut := cli(t, nil, append(args, db...)...); code == 0 || !strings.HasPrefix(errOut, "sigil: ") {
			t.Errorf("%s: exit %d, stderr %q; want a failure explained on stderr", name, code, errOut)
		}
	}

	// A new database has no key until serve or rotate makes one; the
	// first signs at once, the next waits key-publish-lead.
	code, out, errOut = cli(t, nil, append([]string{"keys", "list"}, db...)...)
	if code != 0 || strings.Count(out, "\n") != 1 {
		t.Fatalf("keys list of a new database: exit %d, stdout %q, stderr %q; want the header alone", code, out, errOut)
	}
	activeKey := regexp.MustCompile(`(?m)^(\S+)\s+RS256\s+active\s`)
	code, out, _ = cli(t, nil, append([]string{"keys", "rotate"}, db...)...)
	first := activeKey.FindStringSubmatch(out)
	if code != 0 || first == nil || !strings.Contains(out, "made "+first[1]+", the first signing key; it signs from now on") {
		t.Fatalf("first keys rotate: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, nil, append([]string{"keys", "rotate"}, db...)...)
	published := regexp.MustCompile(`(?m)^(\S+)\s+RS256\s+published\s`).FindStringSubmatch(out)
	if code != 0 || published == nil || !strings.Contains(out, "published "+published[1]+"; it signs from about ") ||
		activeKey.FindStringSubmatch(out)[1] != first[1] {
		t.Fatalf("second keys rotate: exit %d\n%s", code, out)
	}
	// Revoking the active key (a leak) hands signing to the published one
	// at once.
	code, out, _ = cli(t, nil, append([]string{"keys", "revoke", first[1]}, db...)...)
	if code != 0 || !strings.Contains(out, "revoked "+first[1]) || !strings.Contains(out, published[1]+" signs from now on") {
		t.Fatalf("keys revoke: exit %d\n%s", code, out)
	}
	if now := activeKey.FindStringSubmatch(out); now == nil || now[1] != published[1] || strings.Contains(out, first[1]+" ") {
		t.Errorf("after revoking %s, the list should show %s active and %s gone:\n%s", first[1], published[1], first[1], out)
	}

	code, out, _ = cli(t, nil, append([]string{"clients", "delete", "--id", "billing"}, db...)...)
	if code != 0 || out != "deleted billing\n" {
		t.Fatalf("delete: exit %d, %q", code, out)
	}
	if _, out, _ = cli(t, nil, append([]string{"clients", "list"}, db...)...); strings.Contains(out, "billing") {
		t.Errorf("billing is listed after its deletion:\n%s", out)
	}
}

// TestClientsApplyReadsStandardInput: `--file -` reads the clients from
// standard input, for a file piped from a secret store.
func TestClientsApplyReadsStandardInput(t *testing.T) {
	db := []string{"--database-dsn", newDatabase(t), "--log-level", "warn"}
	stdin = strings.NewReader("clients:\n  - id: piped\n    scopes: [country.read]\n    secrets: [{id: s1, secret: piped-secret-0123456789abcdef}]\n")
	t.Cleanup(func() { stdin = os.Stdin })
	if code, out, errOut := cli(t, nil, append([]string{"clients", "apply", "--file", "-"}, db...)...); code != 0 || out != "registered piped\n" {
		t.Fatalf("apply from stdin: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, out, _ := cli(t, nil, append([]string{"clients", "list"}, db...)...); !strings.Contains(out, "\npiped ") {
		t.Errorf("the piped client is not listed:\n%s", out)
	}
}

// TestServeOnAPortInUseSaysSoOnce: a start that fails gives one line,
// naming its cause, not fx's account of the graph around it.
func TestServeOnAPortInUseSaysSoOnce(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	code, _, errOut := cli(t, nil, "serve", "--auth-addr", taken.Addr().String(), "--resource-addr", "127.0.0.1:0",
		"--admin-addr", "", "--database-dsn", filepath.Join(t.TempDir(), "sigil.db"), "--log-level", "warn")
	if code != 1 {
		t.Fatalf("exit %d; want 1\n%s", code, errOut)
	}
	var errors []string
	for _, line := range strings.Split(errOut, "\n") {
		if strings.Contains(line, "level=ERROR") {
			errors = append(errors, line)
		}
	}
	if len(errors) != 1 || !strings.Contains(errors[0], `msg="sigil could not start" err="auth server: listen tcp `+taken.Addr().String()+`: bind: address already in use"`) {
		t.Errorf("want one error line naming the port in use; got %d:\n%s", len(errors), strings.Join(errors, "\n"))
	}
}
