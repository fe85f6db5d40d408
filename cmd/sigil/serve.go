package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"go.uber.org/dig"
	"go.uber.org/fx"

	"github.com/sigilauth/sigil/bootstrap"
)

// serveCommand is `sigil serve`: it runs the configured role until
// SIGINT or SIGTERM, then shuts down gracefully.
func serveCommand(e env) *cobra.Command {
	c := &cobra.Command{
		Use:   "serve [--role auth|resource|all] [--config FILE] [--SETTING VALUE ...]",
		Short: "Run the authorization server, the resource server or both",
		Long: `Run the authorization server, the resource server or both (--role), until
SIGINT or SIGTERM, then shut down gracefully within shutdown-period. Without
flags it serves both roles on :8085 and :8091 with an SQLite database
sigil.db in the working directory and the demo clients.`,
		Example: `  sigil serve
  sigil serve --role auth --database-driver postgres --database-dsn 'host=db user=sigil' --redis-addr redis:6379
  SIGIL_LOG_FORMAT=json sigil serve --config /etc/sigil/sigil.yaml`,
		Args: noArgs,
	}
	sf := addSettingFlags(c, false)
	c.RunE = func(*cobra.Command, []string) error {
		cfg, log, err := sf.load(e)
		if err != nil {
			return err
		}
		return serve(cfg, log, e)
	}
	return c
}

func serve(cfg bootstrap.Config, log *slog.Logger, e env) error {
	gogc := bootstrap.TuneGC(e.lookup)
	memLimit := bootstrap.TuneMemory(cfg, e.lookup)
	log.Info("starting sigil", startSummary(cfg, readBuildVersion().Version)...)
	// Every setting, for the operator who asked: at info level it would
	// be one line of sixty values at every start.
	log.Debug("settings", append(cfg.Describe(), "gogc", gogc, "memory_limit", memLimit)...)

	app := fx.New(bootstrap.App(cfg, log))
	startCtx, cancel := context.WithTimeout(context.Background(), app.StartTimeout())
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		// The cause alone (a port in use, a database that does not
		// answer), not fx's account of the graph around it; the log line
		// is the one line, so run prints nothing more.
		log.Error("sigil could not start", "err", dig.RootCause(err).Error())
		return exitError{code: 1}
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(stop)
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
		return exitError{code: 1}
	}
	log.Info("stopped")
	return nil
}

// startSummary is what the start's log line says: the role, where it
// listens, the issuer, the storage, whether Redis and the demo clients
// are on, and the version. The settings themselves are at debug level.
func startSummary(cfg bootstrap.Config, version string) []any {
	attrs := []any{"version", version, "role", string(cfg.Role)}
	if cfg.Role != bootstrap.RoleResource {
		attrs = append(attrs, "auth_addr", cfg.AuthAddr)
	}
	if cfg.Role != bootstrap.RoleAuth {
		attrs = append(attrs, "resource_addr", cfg.ResourceAddr)
	}
	admin := cfg.AdminAddr
	if admin == "" {
		admin = "off"
	}
	attrs = append(attrs, "admin_addr", admin, "tls", cfg.TLSCertFile != "")
	if cfg.Role != bootstrap.RoleResource {
		attrs = append(attrs, "issuer", cfg.Issuer())
	} else {
		attrs = append(attrs, "issuer", cfg.ExpectedIssuer())
	}
	return append(attrs, "database", string(cfg.DatabaseDriver), "redis", cfg.RedisAddr != "",
		"demo_clients", cfg.Role != bootstrap.RoleResource && cfg.DemoEnabled())
}

// settingsCommand is `sigil settings`: every setting with its flag,
// environment variable and default.
func settingsCommand(e env) *cobra.Command {
	c := &cobra.Command{
		Use:   "settings",
		Short: "List every setting with its flag, environment variable and default",
		Args:  noArgs,
	}
	out := addOutputFlag(c, "table", tableFormats...)
	c.RunE = func(*cobra.Command, []string) error {
		if out.value == "table" {
			for _, s := range bootstrap.Settings {
				fmt.Fprintf(e.stdout, "--%-28s %-34s default %-18q %s\n", s.Name, s.Env(), s.Default, s.Usage)
			}
			return nil
		}
		type settingView struct {
			Flag    string `json:"flag" yaml:"flag"`
			Env     string `json:"env" yaml:"env"`
			YAMLKey string `json:"yaml_key" yaml:"yaml_key"`
			Type    string `json:"type" yaml:"type"`
			Default string `json:"default" yaml:"default"`
			Usage   string `json:"usage" yaml:"usage"`
		}
		views := make([]settingView, len(bootstrap.Settings))
		for i, s := range bootstrap.Settings {
			views[i] = settingView{"--" + s.Name, s.Env(), s.YAMLKey(), s.Type(), s.Default, s.Usage}
		}
		return encode(e.stdout, out.value, views)
	}
	return c
}
