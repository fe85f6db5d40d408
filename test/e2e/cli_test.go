package e2e_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sigilauth/sigil/bootstrap"
)

// TestClientsCommand registers, lists and deletes clients with the built
// binary, as an operator would, on the embedded database.
func TestClientsCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildSigil(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "clients.yaml")
	yaml := `clients:
  - id: billing
    token_format: opaque
    scopes: [country.read, invoice.write]
    default_scopes: [country.read]
    resources: [https://api.example.com]
    token_lifetime: 30m
    secrets:
      - id: "2026-11"
        secret_env: BILLING_SECRET
      - id: "2026-10"
        secret: the-old-billing-secret
        expires_at: 2030-01-01T00:00:00Z
  - id: signer
    auth_methods: [client_secret_jwt]
    scopes: [country.read]
    secrets:
      - id: "1"
        secret: a-client-secret-jwt-secret-of-forty-eight-bytes!
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	sigil := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// The commands refuse a database that does not exist: migrate makes
	// it, as serve would on its first start.
	if out, err := sigil(nil, "clients", "list"); err == nil || !strings.Contains(out, "no database at sigil.db") {
		t.Fatalf("list before any database: %v\n%s", err, out)
	}
	if out, err := sigil(nil, "migrate"); err != nil || !strings.Contains(out, "database ready: sqlite sigil.db") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	out, err := sigil([]string{"BILLING_SECRET=s3cret-from-the-environment"}, "clients", "apply", "--file", file)
	if err != nil || !strings.Contains(out, "registered billing\n") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	// A 48-byte secret signs HS256 and HS384 assertions, not HS512: the
	// token endpoint would only say invalid_client, so apply says it.
	if !strings.Contains(out, "registered signer (client_secret_jwt with HS256, HS384; HS512 needs secrets of 64 bytes)") {
		t.Fatalf("apply does not tell the algorithms of a client_secret_jwt client:\n%s", out)
	}
	out, err = sigil(nil, "clients", "list")
	if err != nil || !strings.Contains(out, "billing") || !strings.Contains(out, "2026-10 (until 2030-01-01T00:00:00Z)") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	for _, secret := range []string{"s3cret-from-the-environment", "the-old-billing-secret", "argon2id"} {
		if strings.Contains(out, secret) {
			t.Errorf("list shows secret material %q:\n%s", secret, out)
		}
	}
	// A file with a typo is refused before anything is written.
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("clients:\n  - id: x\n    scoeps: [a]\n"), 0o600)
	if out, err := sigil(nil, "clients", "apply", "--file", bad); err == nil || !strings.Contains(out, "scoeps") {
		t.Errorf("typo accepted: %v\n%s", err, out)
	}
	if out, err := sigil(nil, "clients", "delete", "--id", "billing"); err != nil || !strings.Contains(out, "deleted billing") {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if out, err := sigil(nil, "clients", "delete", "--id", "billing"); err == nil || !strings.Contains(out, `no client "billing"`) {
		t.Errorf("second delete: %v\n%s", err, out)
	}
}

// TestRetirePeriodShorterThanTokensIsRefused: settings under which valid
// tokens would fail before they expire are refused with the reason, by
// `sigil serve` at start and by `sigil clients apply`.
func TestRetirePeriodShorterThanTokensIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildSigil(t)
	dir := t.TempDir()
	sigil := func(args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}

	// The demo clients' tokens live 4h; a 2h retire period would remove
	// their key while they are still valid.
	out, code := sigil("serve", "--key-retire-period", "2h", "--auth-addr", "127.0.0.1:0", "--resource-addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(out, "key-retire-period 2h0m0s is too short for the demo client") ||
		!strings.Contains(out, "at least 4h1m0s") {
		t.Fatalf("serve with a retire period below the demo lifetime: exit %d\n%s", code, out)
	}

	file := filepath.Join(dir, "clients.yaml")
	yaml := `clients:
  - id: long-lived
    token_lifetime: 48h
    scopes: [country.read]
    secrets:
      - id: "1"
        secret: a-secret-for-the-long-lived-client
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := sigil("migrate"); code != 0 {
		t.Fatalf("migrate: exit %d\n%s", code, out)
	}
	out, code = sigil("clients", "apply", "--file", file)
	if code == 0 || !strings.Contains(out, "token_lifetime 48h0m0s is longer than 23h59m0s") {
		t.Fatalf("apply of a client outliving the retire period: exit %d\n%s", code, out)
	}
	if out, _ := sigil("clients", "list"); strings.Contains(out, "long-lived") {
		t.Fatalf("the refused client was registered:\n%s", out)
	}
}

// sigilIn runs the built binary in dir with only PATH, HOME and env in
// its environment, and returns its exit code, stdout and stderr.
func sigilIn(t *testing.T, bin, dir string, stdin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run sigil %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// TestCommandLine: the built binary's help, suggestions, exit codes,
// output formats, completion scripts, standard input, YAML list settings
// and the warning of unknown SIGIL_* variables, as an operator meets them.
func TestCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildSigil(t)
	dir := t.TempDir()
	sigil := func(stdin string, env []string, args ...string) (int, string, string) {
		t.Helper()
		return sigilIn(t, bin, dir, stdin, env, args...)
	}

	// Help: on stdout, exit 0, every flag.
	code, out, _ := sigil("", nil, "serve", "--help")
	if code != 0 || !strings.Contains(out, "--auth-addr string") || !strings.Contains(out, `[SIGIL_AUTH_ADDR, default ":8085"]`) ||
		!strings.Contains(out, "--redis-addr list") || !strings.Contains(out, "\n  Storage:\n") {
		t.Fatalf("serve --help: exit %d\n%s", code, out)
	}
	code, out, _ = sigil("", nil, "clients", "apply", "--help")
	if code != 0 || !strings.Contains(out, "-f, --file string") || !strings.Contains(out, "--admin-url string") || !strings.Contains(out, "--database-dsn string") {
		t.Fatalf("clients apply --help: exit %d\n%s", code, out)
	}
	code, out, _ = sigil("", nil, "--help")
	for _, command := range []string{"serve", "settings", "migrate", "clients", "keys", "token", "introspect", "revoke", "version", "healthcheck", "completion"} {
		if code != 0 || !strings.Contains(out, "\n  "+command+" ") {
			t.Errorf("sigil --help does not list %s:\n%s", command, out)
		}
	}

	// Usage errors: exit 2, one line, the nearest command or flag.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"srve"}, `sigil: unknown command "srve" for "sigil"; did you mean serve? (see sigil --help)` + "\n"},
		{[]string{"serve", "--auth-adr", ":9000"}, "sigil: unknown flag --auth-adr; did you mean --auth-addr? (see sigil serve --help)\n"},
		{[]string{"keys", "lst"}, `sigil: unknown command "lst" for "sigil keys"; did you mean list? (see sigil keys --help)` + "\n"},
		{[]string{"clients", "list", "-o", "xml"}, `sigil: invalid argument "xml" for "-o, --output" flag: "xml" is not one of table, json, yaml (see sigil clients list --help)` + "\n"},
		{[]string{"serve", "--role", "proxy"}, `sigil: --role "proxy" is not one of auth, resource, all` + "\n"},
	} {
		if code, out, errOut := sigil("", nil, tc.args...); code != 2 || out != "" || errOut != tc.want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
	// A failure: exit 1, one line, no usage after it.
	if code, out, errOut := sigil("", nil, "keys", "list"); code != 1 || out != "" ||
		!strings.HasPrefix(errOut, "sigil: no database at sigil.db: ") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("keys list without a database: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// Completion scripts.
	for shell, want := range map[string]string{"bash": "__start_sigil", "zsh": "#compdef sigil", "fish": "complete -c sigil", "powershell": "Register-ArgumentCompleter"} {
		if code, out, _ := sigil("", nil, "completion", shell); code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, %d bytes without %q", shell, code, len(out), want)
		}
	}

	// A YAML list for a list setting, a mistyped variable warned of, and
	// the clients from standard input.
	if err := os.WriteFile(filepath.Join(dir, "sigil.yaml"), []byte("trusted_proxies:\n  - 10.0.0.0/8\n  - 192.0.2.7\nlog_level: warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"SIGIL_CONFIG=sigil.yaml", "SIGIL_REDIS_ADR=127.0.0.1:6379"}
	if code, out, errOut := sigil("", env, "migrate"); code != 0 || out != "database ready: sqlite sigil.db\n" ||
		!strings.Contains(errOut, `level=WARN msg="environment variable that no setting reads" name=SIGIL_REDIS_ADR did_you_mean=SIGIL_REDIS_ADDR`) {
		t.Fatalf("migrate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	clients := "clients:\n  - id: piped\n    scopes: [country.read]\n    secrets: [{id: s1, secret: piped-secret-0123456789abcdef}]\n"
	if code, out, errOut := sigil(clients, env[:1], "clients", "apply", "--file", "-"); code != 0 || out != "registered piped\n" {
		t.Fatalf("apply from stdin: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = sigil("", env[:1], "clients", "list", "-o", "json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) != 1 || list[0]["id"] != "piped" {
		t.Fatalf("clients list -o json: exit %d, %v:\n%s", code, err, out)
	}
	code, out, _ = sigil("", env[:1], "clients", "get", "piped", "-o", "yaml")
	var one map[string]any
	if err := yaml.Unmarshal([]byte(out), &one); code != 0 || err != nil || one["id"] != "piped" || strings.Contains(out, "piped-secret") {
		t.Fatalf("clients get -o yaml: exit %d, %v:\n%s", code, err, out)
	}
	code, out, _ = sigil("", nil, "version", "-o", "json")
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v["version"] == "" || v["go_version"] == nil {
		t.Fatalf("version -o json: exit %d, %v:\n%s", code, err, out)
	}
}

// readmeBlock is the first fenced block of kind (sh, yaml) after the
// heading of README.md.
func readmeBlock(t *testing.T, heading, kind string) string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no heading %q", heading)
	}
	s = s[i:]
	start := strings.Index(s, "\n```"+kind+"\n")
	if start < 0 {
		t.Fatalf("README.md has no %s block after %q", kind, heading)
	}
	s = s[start+len("\n```"+kind+"\n"):]
	return s[:strings.Index(s, "\n```\n")+1]
}

// TestREADMECommandLineExamples runs README's command line examples with
// the built binary as `sigil`: those of "The command line" on the clients
// file of "Registering clients", and those of "Tokens from the command
// line" against a running Sigil.
func TestREADMECommandLineExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildSigil(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "clients.yaml"), []byte(readmeBlock(t, "### Registering clients", "yaml")), 0o600); err != nil {
		t.Fatal(err)
	}
	runBlock := func(block string) string {
		t.Helper()
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", block)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH"), "HOME=" + dir}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("README's example failed: %v\n%s\nits output:\n%s", err, block, out)
		}
		return string(out)
	}

	out := runBlock(readmeBlock(t, "## The command line", "sh"))
	for _, want := range []string{"database ready: sqlite sigil.db\n", "registered billing (client_secret_jwt with HS256", "\nbilling ",
		"id: billing\n", "the first signing key; it signs from now on", `"state": "active"`, `"go_version": "`, "SIGIL_REDIS_ADDR"} {
		if !strings.Contains(out, want) {
			t.Errorf("README's command line examples do not print %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"a-billing-secret-of-32-bytes-or-more", "the-old-secret-of-at-least-32-bytes"} {
		if strings.Contains(out, secret) {
			t.Errorf("README's command line examples print the secret %q:\n%s", secret, out)
		}
	}
	// The error examples, as the text block shows them.
	text := readmeBlock(t, "## The command line", "text")
	for _, example := range strings.Split(strings.TrimPrefix(text, "$ "), "\n$ ") {
		command, want, _ := strings.Cut(example, "\n")
		code, _, errOut := sigilIn(t, bin, dir, "", nil, strings.Fields(strings.TrimPrefix(command, "sigil "))...)
		// The commands that open the database log at info level first.
		if code == 0 || !strings.HasSuffix("\n"+errOut, "\n"+strings.TrimSuffix(want, "\n")+"\n") {
			t.Errorf("README says %q answers %q; it exits %d with %q", command, want, code, errOut)
		}
	}

	n := startNode(t, func(c *bootstrap.Config) { c.AuthIssuer = "http://" + c.AuthAddr + c.AuthBasePath })
	tokens := readmeBlock(t, "### Tokens from the command line", "sh")
	first, rest, _ := strings.Cut(tokens, "\n")
	if !strings.HasPrefix(first, "A=") {
		t.Fatalf("README's token examples start with %q, not A=...", first)
	}
	out = runBlock("A=" + n.Config.Issuer() + "\n" + rest)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 || strings.Count(lines[0], ".") != 2 || !strings.Contains(out, `"active": true`) ||
		!strings.HasPrefix(lines[len(lines)-1], "revoked") {
		t.Errorf("README's token examples print:\n%s", out)
	}
}
