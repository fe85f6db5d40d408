package bootstrap_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/bootstrap"
)

// TestLoadFromTakesTheFlagsGiven: the flags a command line library
// parsed override the environment and the file, by name without dashes;
// a flag not in the map leaves them be; the errors name the flag as
// Load's do.
func TestLoadFromTakesTheFlagsGiven(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sigil.yaml")
	if err := os.WriteFile(file, []byte("auth_addr: ':7000'\nresource_addr: ':7001'\nrsa_bits: 3072\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := bootstrap.LoadFrom(map[string]string{"config": file, "auth-addr": ":9000", "resource-jwks-max-age": "1m"},
		env(map[string]string{"SIGIL_AUTH_ADDR": ":8000", "SIGIL_RSA_BITS": "4096"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthAddr != ":9000" || c.RSABits != 4096 || c.ResourceAddr != ":7001" || c.JWKSMaxAge != time.Minute {
		t.Errorf("got auth %s, rsa %d, resource %s, jwks max age %s; want the flag, the variable, the file and the former name's flag",
			c.AuthAddr, c.RSABits, c.ResourceAddr, c.JWKSMaxAge)
	}
	for _, tc := range []struct {
		given map[string]string
		want  string
	}{
		{map[string]string{"key-publish-lead": "soon"}, `--key-publish-lead "soon" is not a duration`},
		{map[string]string{"resource-jwks-max-age": "1m", "jwks-max-age": "2m"}, "give only --jwks-max-age"},
		{map[string]string{"config": filepath.Join(t.TempDir(), "none.yaml")}, "config file: open "},
	} {
		if _, err := bootstrap.LoadFrom(tc.given, env(nil)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want %q", tc.given, err, tc.want)
		}
	}
	names := bootstrap.FlagNames()
	for _, want := range []string{"config", "role", "outage-probe-interval", "resource-upstream-timeout"} {
		if !slices.Contains(names, want) {
			t.Errorf("FlagNames lacks %s", want)
		}
	}
	formers := 0
	for _, s := range bootstrap.Settings {
		if s.FormerName() != "" {
			formers++
		}
	}
	if formers < 3 || len(names) != 1+len(bootstrap.Settings)+formers {
		t.Errorf("FlagNames has %d names for %d settings, %d former names and --config", len(names), len(bootstrap.Settings), formers)
	}
}

// TestSettingTypes: the kinds the help shows.
func TestSettingTypes(t *testing.T) {
	want := map[string]string{"key-publish-lead": "duration", "rsa-bits": "int", "resource-audience-check": "bool",
		"trusted-proxies": "list", "redis-addr": "list", "resource-algorithms": "list", "role": "string", "log-level": "string"}
	for _, s := range bootstrap.Settings {
		if w, ok := want[s.Name]; ok && s.Type() != w {
			t.Errorf("--%s is a %s; want %s", s.Name, s.Type(), w)
		}
	}
}
