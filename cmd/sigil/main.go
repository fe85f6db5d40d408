// Command sigil runs Sigil, an OAuth 2.0 authorization server and protected
// resource server for machine-to-machine access.
//
//	sigil serve [--role auth|resource|all] [--config file.yaml] [--setting value ...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/dig"
	"go.uber.org/fx"

	"github.com/sigilauth/sigil/bootstrap"
)

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

func run(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], lookup, stderr)
	case "settings":
		printSettings(stdout)
		return 0
	case "clients":
		return clients(args[1:], lookup, stdout, stderr)
	case "keys":
		return keys(args[1:], lookup, stdout, stderr)
	case "migrate":
		return migrate(args[1:], lookup, stdout, stderr)
	case "token", "introspect", "revoke":
		return perform(args[0], args[1:], stdout, stderr)
	case "version", "--version":
		return versionCommand(args[1:], stdout, stderr)
	case "healthcheck":
		return healthcheck(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "sigil: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  sigil serve [--role auth|resource|all] [--config FILE] [--SETTING VALUE ...]
  sigil settings    list every setting with its flag, environment variable and default
  sigil migrate     create the database (SQLite) or bring its schema up to date, as serve does
  sigil clients apply --file clients.yaml   register or replace the clients of a file (- reads stdin)
  sigil clients list                        list the registered clients
  sigil clients delete --id CLIENT_ID       remove a client
  sigil keys list                           list the signing keys and their states
  sigil keys rotate                         start a staged rotation now
  sigil keys revoke KID                     remove a key at once (a leaked key)
  sigil token --issuer URL --client-id ID (--client-secret-file F | --key-file PEM) [--scope S]
                    get a client_credentials token from any server found by its metadata
  sigil introspect --issuer URL --client-id ID ... TOKEN   ask the server about a token
  sigil revoke --issuer URL --client-id ID ... TOKEN       revoke a token
  sigil version [-o text|json]              the version, VCS revision and Go version of this build
  sigil healthcheck [--url URL] [--insecure] exit 0 if URL (default http://127.0.0.1:8085/healthz) answers 2xx

Every setting can be given as a flag, a SIGIL_* environment variable, or a key
in the YAML file named by --config (flags win over the environment, which wins
over the file).
`)
}

func printSettings(w io.Writer) {
	for _, s := range bootstrap.Settings {
		fmt.Fprintf(w, "--%-28s %-34s default %-18q %s\n", s.Name, s.Env(), s.Default, s.Usage)
	}
}

// loadConfig reads a command's settings and makes the logger they ask
// for, which then warns of every setting given by its former name.
func loadConfig(args []string, lookup func(string) (string, bool), extra func(*flag.FlagSet), stderr io.Writer) (bootstrap.Config, *slog.Logger, error) {
	cfg, err := bootstrap.LoadWith(args, lookup, extra)
	if err != nil {
		return cfg, nil, err
	}
	log := bootstrap.NewLogger(cfg, stderr)
	cfg.WarnRenamed(log)
	for _, u := range bootstrap.UnknownVariables(environ()) {
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

func serve(args []string, lookup func(string) (string, bool), stderr io.Writer) int {
	cfg, log, err := loadConfig(args, lookup, nil, stderr)
	if errors.Is(err, flag.ErrHelp) {
		usage(stderr)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sigil: %v\n", err)
		return 2
	}
	gogc := bootstrap.TuneGC(lookup)
	memLimit := bootstrap.TuneMemory(cfg, lookup)
	log.Info("starting sigil", append([]any{"version", readBuildVersion().Version}, append(cfg.Describe(), "gogc", gogc, "memory_limit", memLimit)...)...)

	app := fx.New(bootstrap.App(cfg, log))
	startCtx, cancel := context.WithTimeout(context.Background(), app.StartTimeout())
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		// The cause alone (a port in use, a database that does not
		// answer), not fx's account of the graph around it.
		log.Error("sigil could not start", "err", dig.RootCause(err).Error())
		return 1
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case sig := <-stop:
		log.Info("stopping", "signal", sig.String())
	case sig := <-app.Wait():
		log.Info("stopping", "exit_code", sig.ExitCode)
	}

	stopCtx, cancelStop := context.WithTimeout(context.Background(), cfg.ShutdownPeriod)
	defer cancelStop()
	if err := app.Stop(stopCtx); err != nil {
		log.Error("unclean shutdown", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}
