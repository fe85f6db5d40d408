package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandsWarnOfFormerNames: a command that reads the settings warns,
// once in its log, of each setting given by its former name.
func TestCommandsWarnOfFormerNames(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "sigil.db")
	code, _, errOut := cli(t, map[string]string{"SIGIL_RESOURCE_JWKS_REFRESH": "1s"},
		"keys", "list", "--database-dsn", dsn, "--resource-upstream-timeout", "2s")
	if code != 0 {
		t.Fatalf("sigil keys list exits %d:\n%s", code, errOut)
	}
	for _, want := range []string{
		`level=WARN msg="setting given by its former name: use the new one" given=SIGIL_RESOURCE_JWKS_REFRESH use=SIGIL_JWKS_MIN_REFRESH_INTERVAL`,
		"given=--resource-upstream-timeout use=--outbound-timeout",
	} {
		if n := strings.Count(errOut, want); n != 1 {
			t.Errorf("the log says %q %d times, want once:\n%s", want, n, errOut)
		}
	}
}
