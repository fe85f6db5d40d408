package bootstrap_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

func TestEveryRoleGraphIsComplete(t *testing.T) {
	for _, role := range []bootstrap.RoleName{bootstrap.RoleAuth, bootstrap.RoleResource, bootstrap.RoleAll} {
		for _, redis := range []string{"", "127.0.0.1:6379"} {
			c := bootstrap.Defaults()
			c.Role, c.RedisAddr = role, redis
			log := bootstrap.NewLogger(c, os.Stderr)
			if err := fx.ValidateApp(bootstrap.App(c, log)); err != nil {
				t.Errorf("role %s (redis %q): %v", role, redis, err)
			}
		}
	}
}

func TestUnknownRoleFailsToStart(t *testing.T) {
	c := bootstrap.Defaults()
	c.Role = "gateway"
	err := fx.ValidateApp(bootstrap.App(c, bootstrap.NewLogger(c, os.Stderr)))
	if err == nil || !strings.Contains(err.Error(), `unknown role "gateway"`) {
		t.Fatalf("got %v, want an unknown role error", err)
	}
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultsReproduceTheSeeds(t *testing.T) {
	c, err := bootstrap.Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"role":            {string(c.Role), "all"},
		"auth addr":       {c.AuthAddr, ":8085"},
		"resource addr":   {c.ResourceAddr, ":8091"},
		"issuer":          {c.Issuer(), "http://localhost:8085/ms-auth-server"},
		"jwks url":        {c.JWKSURL(), "http://localhost:8085/ms-auth-server/oauth2/jwks"},
		"introspection":   {c.IntrospectionURL(), "http://localhost:8085/ms-auth-server/oauth2/introspect"},
		"resource base":   {c.ResourceBasePath, "/ms-system"},
		"database driver": {string(c.DatabaseDriver), "sqlite"},
		"redis":           {c.RedisAddr, ""},
	}
	for name, got := range checks {
		if got[0] != got[1] {
			t.Errorf("%s = %q, want %q", name, got[0], got[1])
		}
	}
	if !c.DemoEnabled() {
		t.Error("demo clients should be on by default with SQLite")
	}
	c.DatabaseDriver = "postgres"
	if c.DemoEnabled() {
		t.Error("demo clients should be off by default with PostgreSQL")
	}
}

func TestPrecedenceFileEnvFlag(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sigil.yaml")
	yaml := "auth:\n  addr: \":9000\"\nresource_addr: \":9001\"\nredis_db: 3\nkey_publish_lead: 20m\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := bootstrap.Load(
		[]string{"--config", file, "--resource-addr", ":9003"},
		env(map[string]string{"SIGIL_AUTH_ADDR": ":9002"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthAddr != ":9002" || c.ResourceAddr != ":9003" || c.RedisDB != 3 || c.KeyPublishLead != 20*time.Minute {
		t.Fatalf("got auth %s resource %s redis db %d lead %s", c.AuthAddr, c.ResourceAddr, c.RedisDB, c.KeyPublishLead)
	}
	if c.Issuer() != "http://localhost:9002/ms-auth-server" {
		t.Errorf("issuer follows the auth port: got %s", c.Issuer())
	}
}

// TestEmptyVariableSetsEmpty: a variable set to the empty string empties
// its setting, as an operator clearing SIGIL_REDIS_ADDR means to run
// without Redis whatever the file says; an unset one leaves the file's.
func TestEmptyVariableSetsEmpty(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sigil.yaml")
	if err := os.WriteFile(file, []byte("redis_addr: redis.internal:6379\nauth_issuer: https://file.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := bootstrap.Load([]string{"--config", file}, env(map[string]string{"SIGIL_REDIS_ADDR": ""}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RedisAddr != "" || c.AuthIssuer != "https://file.example" {
		t.Errorf("redis %q, issuer %q: want the empty variable to empty redis-addr and the file's issuer kept", c.RedisAddr, c.AuthIssuer)
	}
	// An empty SIGIL_CONFIG names no file.
	if _, err := bootstrap.Load(nil, env(map[string]string{"SIGIL_CONFIG": ""})); err != nil {
		t.Errorf("empty SIGIL_CONFIG: %v", err)
	}
	// Empty is a value like any other: it must suit the setting.
	if _, err := bootstrap.Load(nil, env(map[string]string{"SIGIL_KEY_PUBLISH_LEAD": ""})); err == nil ||
		!strings.Contains(err.Error(), "SIGIL_KEY_PUBLISH_LEAD") {
		t.Errorf("empty SIGIL_KEY_PUBLISH_LEAD gave %v, want an error naming it", err)
	}
}

func TestInvalidConfigurationIsNotReturned(t *testing.T) {
	c, err := bootstrap.Load([]string{"--rsa-bits", "1024", "--auth-addr", ":9000"}, env(nil))
	if err == nil || c.AuthAddr != "" || c.RSABits != 0 {
		t.Errorf("Load of an invalid configuration returned auth addr %q, rsa bits %d, error %v; want the zero Config and an error",
			c.AuthAddr, c.RSABits, err)
	}
}

// TestFormerNamesStillWork: settings renamed for what they govern keep
// their former names as flags, variables and file keys, with a warning
// that names the new one.
func TestFormerNamesStillWork(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sigil.yaml")
	if err := os.WriteFile(file, []byte("resource:\n  upstream_timeout: 2s\nresource_jwks_max_age: 4m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := bootstrap.Load([]string{"--config", file, "--resource-jwks-refresh", "3s"},
		env(map[string]string{"SIGIL_RESOURCE_JWKS_MAX_AGE": "1m"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.JWKSMinRefreshInterval != 3*time.Second || c.JWKSMaxAge != time.Minute || c.OutboundTimeout != 2*time.Second {
		t.Errorf("min refresh %s, max age %s, timeout %s; want 3s, 1m (the variable over the file), 2s",
			c.JWKSMinRefreshInterval, c.JWKSMaxAge, c.OutboundTimeout)
	}
	var logs bytes.Buffer
	c.WarnRenamed(slog.New(slog.NewTextHandler(&logs, nil)))
	for _, want := range []string{
		"given=resource_upstream_timeout use=outbound_timeout",
		"given=resource_jwks_max_age use=jwks_max_age",
		"given=SIGIL_RESOURCE_JWKS_MAX_AGE use=SIGIL_JWKS_MAX_AGE",
		"given=--resource-jwks-refresh use=--jwks-min-refresh-interval",
	} {
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), want) {
			t.Errorf("the warnings lack %s:\n%s", want, logs.String())
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 4 {
		t.Errorf("%d warnings, want one per former name given:\n%s", n, logs.String())
	}

	c, err = bootstrap.Load([]string{"--jwks-max-age", "1m"}, env(nil))
	logs.Reset()
	c.WarnRenamed(slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || logs.Len() != 0 {
		t.Errorf("new names only: %v, warnings %q", err, logs.String())
	}

	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--resource-jwks-max-age", "1m", "--jwks-max-age", "2m"}, nil,
			"--resource-jwks-max-age and --jwks-max-age are the same setting, under its former and its new name: give only --jwks-max-age"},
		{nil, map[string]string{"SIGIL_RESOURCE_UPSTREAM_TIMEOUT": "1s", "SIGIL_OUTBOUND_TIMEOUT": "1s"}, "give only SIGIL_OUTBOUND_TIMEOUT"},
		{nil, map[string]string{"SIGIL_RESOURCE_JWKS_REFRESH": "often"}, `SIGIL_RESOURCE_JWKS_REFRESH "often" is not a duration`},
		{[]string{"--resource-jwks-max-age", "20m"}, nil, "key-publish-lead 10m0s is shorter than jwks-max-age 20m0s"},
	} {
		if _, err := bootstrap.Load(tc.args, env(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%v, %v) = %v, want an error saying %s", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestBadConfigurationIsExplained(t *testing.T) {
	file := filepath.Join(t.TempDir(), "typo.yaml")
	if err := os.WriteFile(file, []byte("auth_adr: \":1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--role", "gateway"}, nil, `--role "gateway" is not one of auth, resource, all`},
		{[]string{"--database-driver", "mysql"}, nil, `--database-driver "mysql" is not one of sqlite, postgres`},
		{nil, map[string]string{"SIGIL_DEMO_CLIENTS": "yes"}, `SIGIL_DEMO_CLIENTS "yes" is not one of auto, true, false`},
		{nil, map[string]string{"SIGIL_RESOURCE_AUDIENCE_CHECK": "maybe"}, `SIGIL_RESOURCE_AUDIENCE_CHECK "maybe" is not true or false`},
		{nil, map[string]string{"SIGIL_LOG_LEVEL": "loud"}, `SIGIL_LOG_LEVEL "loud" is not one of debug, info, warn, error`},
		{nil, map[string]string{"SIGIL_LOG_FORMAT": "xml"}, `SIGIL_LOG_FORMAT "xml" is not one of text, json`},
		{nil, map[string]string{"SIGIL_KEY_ALGORITHM": "HS256"}, `SIGIL_KEY_ALGORITHM "HS256" is not one of RS256, PS256, ES256, EdDSA`},
		{nil, map[string]string{"SIGIL_RESOURCE_ALGORITHMS": "ES256, none"}, `SIGIL_RESOURCE_ALGORITHMS "none" is not one of`},
		{nil, map[string]string{"SIGIL_KEY_PUBLISH_LEAD": "soon"}, "SIGIL_KEY_PUBLISH_LEAD"},
		{[]string{"--rsa-bits", "1024"}, nil, "below 2048"},
		{[]string{"--config", file}, nil, `unknown setting "auth_adr"`},
		{[]string{"--no-such-flag"}, nil, "no-such-flag"},
		{[]string{"--auth-base-path", "ms"}, nil, "must start with /"},
		// The demo clients' tokens live 4h: a retired key must stay that
		// long plus one key check.
		{[]string{"--key-retire-period", "2h"}, nil, "key-retire-period 2h0m0s is too short for the demo client service-client-jwt, whose tokens live 4h0m0s"},
		{[]string{"--key-retire-period", "4h"}, nil, "set key-retire-period to at least 4h1m0s"},
		{[]string{"--key-retire-period", "1m", "--demo-clients", "false"}, nil, "must be longer than key-rotation-check"},
		{[]string{"--max-header-bytes", "100"}, nil, "max-header-bytes 100 is below 4096"},
	}
	for _, tc := range cases {
		_, err := bootstrap.Load(tc.args, env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%v, %v) = %v, want an error mentioning %s", tc.args, tc.env, err, tc.want)
		}
	}
	// Without demo clients, or on a resource node, which signs nothing,
	// the same retire period is left to the start-up check of the
	// registry.
	for _, args := range [][]string{
		{"--key-retire-period", "2h", "--demo-clients", "false"},
		{"--key-retire-period", "2h", "--role", "resource"},
	} {
		if _, err := bootstrap.Load(args, env(nil)); err != nil {
			t.Errorf("Load(%v) = %v, want it accepted", args, err)
		}
	}
	if _, err := bootstrap.Load([]string{"-h"}, env(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h gives %v, want flag.ErrHelp", err)
	}
}

// TestTypedSettings: each setting is read once, at load, into the type
// the code uses, and a value set in code is held to the same rules.
func TestTypedSettings(t *testing.T) {
	c, err := bootstrap.Load([]string{"--resource-identifier", "https://api.example", "--resource-algorithms", "ES256, EdDSA"},
		env(map[string]string{"SIGIL_RESOURCE_AUDIENCE_CHECK": "0", "SIGIL_LOG_LEVEL": "DEBUG"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Audience() != "" || c.LogLevel != slog.LevelDebug || fmt.Sprint(c.VerifyAlgorithms()) != "[ES256 EdDSA]" {
		t.Errorf("audience %q, level %s, algorithms %v; want no audience check, debug, [ES256 EdDSA]", c.Audience(), c.LogLevel, c.VerifyAlgorithms())
	}
	c, err = bootstrap.Load([]string{"--resource-identifier", "https://api.example"}, env(map[string]string{"SIGIL_RESOURCE_AUDIENCE_CHECK": "TRUE"}))
	if err != nil || c.Audience() != "https://api.example" || len(c.VerifyAlgorithms()) != len(domain.SigningAlgorithms) {
		t.Errorf("audience %q, algorithms %v, %v; want the identifier and every algorithm", c.Audience(), c.VerifyAlgorithms(), err)
	}

	for want, change := range map[string]func(c *bootstrap.Config){
		`role "gateway" is not one of auth, resource, all`:             func(c *bootstrap.Config) { c.Role = "gateway" },
		`demo-clients "yes" is not one of auto, true, false`:           func(c *bootstrap.Config) { c.DemoClients = "yes" },
		`database-driver "mysql" is not one of sqlite, postgres`:       func(c *bootstrap.Config) { c.DatabaseDriver = "mysql" },
		`key-algorithm "HS256" is not one of RS256, PS256, ES256`:      func(c *bootstrap.Config) { c.KeyAlgorithm = "HS256" },
		`resource-algorithms "none" is not one of RS256, PS256, ES256`: func(c *bootstrap.Config) { c.ResourceAlgorithms = []domain.Algorithm{"ES256", "none"} },
	} {
		c := bootstrap.Defaults()
		change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %s", err, want)
		}
	}
}

func TestDescribeShowsSettingsAsWritten(t *testing.T) {
	c, err := bootstrap.Load([]string{"--trusted-proxies", "10.0.0.0/8, 192.0.2.7", "--token-rate-limit", "100/s",
		"--resource-algorithms", "ES256, EdDSA", "--log-level", "WARN"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Describe()
	got := map[string]any{}
	for i := 0; i < len(d); i += 2 {
		got[d[i].(string)] = d[i+1]
	}
	for name, want := range map[string]string{
		"trusted-proxies": "10.0.0.0/8, 192.0.2.7/32", "token-rate-limit": "100/s", "introspection-rate-limit": "",
		"resource-algorithms": "ES256, EdDSA", "log-level": "warn", "log-format": "text", "role": "all",
		"demo-clients": "auto", "resource-audience-check": "true", "database-driver": "sqlite", "key-algorithm": "RS256",
	} {
		if got[name] != want {
			t.Errorf("Describe gives %s %q, want %q", name, got[name], want)
		}
	}
}

func TestDescribeMasksSecrets(t *testing.T) {
	c := bootstrap.Defaults()
	c.RedisPassword = "hunter2"
	c.DatabaseDSN = "postgres://u:pw@h/db"
	line := fmt.Sprint(c.Describe()...)
	for _, secret := range []string{"hunter2", "pw@h", "service-client-jwt-secret"} {
		if strings.Contains(line, secret) {
			t.Errorf("startup description contains %q: %s", secret, line)
		}
	}
	if !strings.Contains(line, ":8085") {
		t.Errorf("startup description lacks the auth address: %s", line)
	}
}

// TestREADMEListsEverySetting keeps the configuration table of README.md
// true: every setting, in order, with its flag, variable, key, default
// and meaning, and no other row, so a renamed or removed setting leaves
// none behind.
func TestREADMEListsEverySetting(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- settings table: kept in step with bootstrap.Settings by TestREADMEListsEverySetting -->\n"
	_, table, ok := strings.Cut(string(raw), marker)
	if !ok {
		t.Fatalf("README.md lacks the line %q", marker)
	}
	table, _, _ = strings.Cut(table, "\n\n")
	want := []string{"| flag | environment | YAML key | default | meaning |", "| --- | --- | --- | --- | --- |"}
	for _, s := range bootstrap.Settings {
		def := "`" + s.Default + "`"
		if s.Default == "" {
			def = "(empty)"
		}
		want = append(want, fmt.Sprintf("| `--%s` | `%s` | `%s` | %s | %s |", s.Name, s.Env(), s.YAMLKey(), def, s.Usage))
	}
	if got := strings.Split(table, "\n"); !slices.Equal(got, want) {
		for i := range max(len(got), len(want)) {
			if i >= len(got) || i >= len(want) || got[i] != want[i] {
				t.Errorf("README.md's settings table differs from line %d on; it should read:\n%s", i+1, strings.Join(want, "\n"))
				break
			}
		}
	}
}
