package main

import (
	"log/slog"
	"os"
	"slices"

	"github.com/sigilauth/sigil/bootstrap"
)

// cliVariables are the SIGIL_* variables the command line reads itself,
// beside the settings: not typos, so never warned of.
var cliVariables = []string{envAdminURL, envAdminTokenFile}

// load reads the settings of a command from its flags, the environment
// and the --config file, and makes the logger they ask for, which then
// warns of every setting given by its former name and of every SIGIL_*
// variable nothing reads. A setting that does not parse is a usage
// error, named by where it was given.
func (sf *settingFlags) load(e env) (bootstrap.Config, *slog.Logger, error) {
	cfg, err := bootstrap.LoadFrom(sf.given, e.lookup)
	if err != nil {
		return cfg, nil, usageError{err}
	}
	log := bootstrap.NewLogger(cfg, e.stderr)
	cfg.WarnRenamed(log)
	for _, u := range bootstrap.UnknownVariables(environ()) {
		if slices.Contains(cliVariables, u.Name) {
			continue
		}
		attrs := []any{"name", u.Name}
		if u.Suggestion != "" {
			attrs = append(attrs, "did_you_mean", u.Suggestion)
		}
		log.Warn("environment variable that no setting reads", attrs...)
	}
	return cfg, log, nil
}

// environ is the process environment, for the warning about SIGIL_*
// variables no setting reads; tests replace it.
var environ = os.Environ
