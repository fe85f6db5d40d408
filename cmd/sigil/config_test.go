package main

import (
	"strings"
	"testing"
)

// TestCommandsWarnOfFormerNames: a command that reads the settings warns,
// once in its log, of each setting given by its former name.
func TestCommandsWarnOfFormerNames(t *testing.T) {
	dsn := newDatabase(t)
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

// TestCommandsWarnOfUnknownVariables: a SIGIL_* variable no setting reads
// is most often a typo, which would leave a default in place unseen.
func TestCommandsWarnOfUnknownVariables(t *testing.T) {
	dsn := newDatabase(t)
	code, _, errOut := cli(t, map[string]string{
		"SIGIL_REDIS_ADR":             "127.0.0.1:6379",
		"SIGIL_COMPLETELY_OTHER":      "x",
		"SIGIL_RESOURCE_JWKS_REFRESH": "1s", // a former name is known
		"SIGIL_LOG_LEVEL":             "info",
		"HOME":                        "/nowhere",
	}, "keys", "list", "--database-dsn", dsn)
	if code != 0 {
		t.Fatalf("sigil keys list exits %d:\n%s", code, errOut)
	}
	for _, want := range []string{
		`level=WARN msg="environment variable that no setting reads" name=SIGIL_REDIS_ADR did_you_mean=SIGIL_REDIS_ADDR`,
		`level=WARN msg="environment variable that no setting reads" name=SIGIL_COMPLETELY_OTHER` + "\n",
	} {
		if n := strings.Count(errOut, want); n != 1 {
			t.Errorf("the log says %q %d times, want once:\n%s", want, n, errOut)
		}
	}
	for _, known := range []string{"name=SIGIL_RESOURCE_JWKS_REFRESH", "name=SIGIL_LOG_LEVEL", "HOME"} {
		if strings.Contains(errOut, known) {
			t.Errorf("the log warns of %s, which is known:\n%s", known, errOut)
		}
	}
}
