package bootstrap_test

import (
	"os"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/sigilauth/sigil/bootstrap"
)

// With tracing on, every role's graph still holds together: the decorated
// use cases, stores and outbound client included.
func TestEveryRoleValidatesWithTracingOn(t *testing.T) {
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
		t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
		for _, role := range []bootstrap.RoleName{bootstrap.RoleAuth, bootstrap.RoleResource, bootstrap.RoleAll} {
			for _, redis := range []string{"", "127.0.0.1:6379"} {
				c := bootstrap.Defaults()
				c.Role, c.RedisAddr = role, redis
				if err := fx.ValidateApp(bootstrap.App(c, bootstrap.NewLogger(c, os.Stderr))); err != nil {
					t.Errorf("%s, role %s (redis %q): %v", protocol, role, redis, err)
				}
			}
		}
	}
}

func TestAnUnknownTraceExporterFailsToStart(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "jaeger")
	c := bootstrap.Defaults()
	err := fx.ValidateApp(bootstrap.App(c, bootstrap.NewLogger(c, os.Stderr)))
	if err == nil || !strings.Contains(err.Error(), "OTEL_TRACES_EXPORTER=jaeger") {
		t.Fatalf("got %v, want the exporter named", err)
	}
}
