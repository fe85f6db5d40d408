package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/sigilauth/sigil/adapters/echohttp"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// tracingSetup is what the standard OTEL_* variables ask of tracing.
type tracingSetup struct {
	on       bool
	protocol string // "http/protobuf" or "grpc"
}

// tracingFromEnv reads the switch and the protocol. Tracing is off by
// default, unlike the OpenTelemetry SDKs' default of OTEL_TRACES_EXPORTER=otlp:
// a server that nobody asked to export would otherwise try to reach a
// collector on localhost:4318 and complain when none is there. It is on
// when OTEL_TRACES_EXPORTER is otlp, or unset while an OTLP endpoint
// variable names where to send the spans; OTEL_TRACES_EXPORTER=none and
// OTEL_SDK_DISABLED=true turn it off whatever else is set. Anything else
// is refused, so that a typo does not silently leave tracing off.
func tracingFromEnv(lookup func(string) (string, bool)) (tracingSetup, error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	if strings.EqualFold(get("OTEL_SDK_DISABLED"), "true") {
		return tracingSetup{}, nil
	}
	switch exporter := strings.ToLower(get("OTEL_TRACES_EXPORTER")); exporter {
	case "none":
		return tracingSetup{}, nil
	case "":
		if get("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return tracingSetup{}, nil
		}
	case "otlp":
	default:
		return tracingSetup{}, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: Sigil exports traces with otlp, or none", exporter)
	}
	protocol := get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = get("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch protocol {
	case "", "http/protobuf":
		return tracingSetup{on: true, protocol: "http/protobuf"}, nil
	case "grpc":
		return tracingSetup{on: true, protocol: "grpc"}, nil
	default:
		return tracingSetup{}, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%s: Sigil exports with http/protobuf or grpc", protocol)
	}
}

// tracingModule turns tracing on as the process environment asks. Off, it
// adds nothing to the graph: no middleware, no hooks, no wrapped
// transport, so the hot paths are exactly those of a build without it.
func tracingModule(c Config) fx.Option {
	setup, err := tracingFromEnv(os.LookupEnv)
	if err != nil {
		return fx.Error(err)
	}
	if !setup.on {
		return fx.Options()
	}
	// Decorations apply to the module they are in and below it: these are
	// at the root, to reach the roles' modules.
	return fx.Options(
		fx.Module("tracing",
			fx.Supply(setup),
			fx.Provide(
				newTracerProvider,
				func(tp *sdktrace.TracerProvider) trace.TracerProvider { return tp },
				newServerTracing,
				func(tp trace.TracerProvider) application.Tracer { return useCaseTracer{tp.Tracer(tracerName)} },
			),
		),
		fx.Decorate(traceDatabase),
		redisTracingOption(c),
	)
}

// redisTracingOption traces Redis commands, and the token store's pipelined
// calls (see tracedTokens), when there is a Redis: a decoration of a type
// the graph lacks would make whoever asks for it optionally fail instead.
func redisTracingOption(c Config) fx.Option {
	if c.RedisAddr == "" {
		return fx.Options()
	}
	return fx.Decorate(traceRedis, traceBatchedTokens)
}

// tracerName is the instrumentation scope of Sigil's own spans.
const tracerName = "github.com/sigilauth/sigil"

// propagator is how trace context crosses HTTP: W3C traceparent and
// tracestate (https://www.w3.org/TR/trace-context/), read from every
// request and written on every outbound call. Baggage is not passed on:
// it would forward whatever a caller put in it to the authorization
// server.
var propagator = propagation.TraceContext{}

// newTracerProvider builds the SDK's provider from the environment: the
// exporter's endpoint, headers, timeout, TLS and compression
// (OTEL_EXPORTER_OTLP_*), the sampler (OTEL_TRACES_SAMPLER and _ARG, by
// default parent-based always-on), the batch processor (OTEL_BSP_*) and
// the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES), all read by
// the SDK itself. Stopping the app flushes the spans still queued.
func newTracerProvider(lc fx.Lifecycle, setup tracingSetup, c Config, log *slog.Logger) (*sdktrace.TracerProvider, error) {
	ctx := context.Background()
	var (
		exp sdktrace.SpanExporter
		err error
	)
	if setup.protocol == "grpc" {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("trace exporter: %w", err)
	}
	res, err := tracingResource(ctx, c)
	if err != nil {
		return nil, err
	}
	// The SDK reports failed exports to a global handler, by default the
	// standard logger; send them to Sigil's log instead.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing", "err", err)
	}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	// A receiver that is down must not hold the stop: the spans still
	// queued get flushTimeout, and a failure is a warning, not a failed
	// stop.
	lc.Append(fx.StopHook(func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, flushTimeout)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			log.Warn("flush traces at stop", "err", err)
		}
		return nil
	}))
	log.Info("tracing on", "protocol", setup.protocol)
	return tp, nil
}

// flushTimeout bounds the export of the spans still queued when the app
// stops.
const flushTimeout = 3 * time.Second

// tracingResource names the process in its spans: service.name "sigil"
// unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise, the
// module version, and the role it serves.
func tracingResource(ctx context.Context, c Config) (*resource.Resource, error) {
	version := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		version = info.Main.Version
	}
	defaults := resource.NewSchemaless(
		semconv.ServiceName("sigil"),
		semconv.ServiceVersion(version),
		semconv.ServiceInstanceIDKey.String(fmt.Sprintf("%s-%d", hostname(), os.Getpid())),
	)
	// Later sources win: the variables override the defaults.
	env, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithAttributes(
		roleAttribute.String(string(c.Role)),
	))
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	res, err := resource.Merge(defaults, env)
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	return res, nil
}

// roleAttribute tells apart, in one trace, the spans of nodes that share
// a service name.
const roleAttribute = attribute.Key("sigil.role")

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// newServerTracing is what the echo servers need to report their requests.
func newServerTracing(tp trace.TracerProvider) *echohttp.Tracing {
	return &echohttp.Tracing{Provider: tp, Propagator: propagator}
}

// outboundParams are what the HTTP client of outbound calls is built
// from; the tracer provider is there only with tracing on.
type outboundParams struct {
	fx.In
	Config Config
	Tracer trace.TracerProvider `optional:"true"`
}

// newTracedOutboundClient is newOutboundClient, its calls traced when
// tracing is on. It is the client's constructor rather than a decoration:
// the request metrics decorate the client at the root already, and fx
// allows one decoration of a type in a scope.
func newTracedOutboundClient(p outboundParams) (*http.Client, error) {
	hc, err := newOutboundClient(p.Config)
	if err != nil || p.Tracer == nil {
		return hc, err
	}
	return traceOutbound(hc, p.Tracer), nil
}

// traceOutbound makes every outbound call (the resource role's
// introspection and JWKS fetches, clients' jwks_uri) a client span, and
// passes the trace on in traceparent, so that the authorization server's
// spans join the resource server's trace.
func traceOutbound(hc *http.Client, tp trace.TracerProvider) *http.Client {
	traced := *hc
	traced.Transport = otelhttp.NewTransport(hc.Transport,
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return r.Method + " " + r.URL.Path
		}),
	)
	return &traced
}

// useCaseTracer is application.Tracer over OpenTelemetry: an internal
// span per use-case call.
type useCaseTracer struct{ tracer trace.Tracer }

var _ application.Tracer = useCaseTracer{}

// Start begins the span; the returned function ends it with the call's
// outcome. A refusal is recorded by its OAuth error code alone: an error's
// text may carry what the caller sent.
func (t useCaseTracer) Start(ctx context.Context, name string) (context.Context, func(error)) {
	ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal))
	return ctx, func(err error) {
		if err != nil {
			kind := "internal"
			var oauth *domain.Error
			var throttled *domain.Throttled
			switch {
			case errors.As(err, &oauth):
				kind = string(oauth.Code)
			case errors.As(err, &throttled):
				kind = "throttled"
			case errors.Is(err, domain.ErrTemporarilyUnavailable):
				kind = "temporarily_unavailable"
			}
			span.SetAttributes(semconv.ErrorTypeKey.String(kind))
			span.SetStatus(codes.Error, kind)
		}
		span.End()
	}
}

// tracedUseCase is a use case that can report its calls as spans.
type tracedUseCase interface{ TraceTo(application.Tracer) }

// authUseCaseTracing and resourceUseCaseTracing give the use cases that
// serve requests the tracer, when tracing is on. They are decorations
// inside each role's module, because the resource role keeps its use
// cases private to it, out of reach of a decoration at the root. Off,
// they pass each use case through once, at construction.
var (
	authUseCaseTracing = fx.Decorate(
		useCaseDecorator[*application.AuthenticateClient],
		useCaseDecorator[*application.IssueToken],
		useCaseDecorator[*application.Introspect],
		useCaseDecorator[*application.RevokeToken],
		useCaseDecorator[*application.PublishJWKS],
		useCaseDecorator[*application.PublishMetadata],
	)
	resourceUseCaseTracing = fx.Decorate(
		useCaseDecorator[*application.AuthorizeBearer],
		useCaseDecorator[*application.GetCountry],
		useCaseDecorator[*application.ListCountries],
	)
)

// useCaseTracerParam is the use cases' tracer, absent with tracing off.
type useCaseTracerParam struct {
	fx.In
	Tracer application.Tracer `optional:"true"`
}

func useCaseDecorator[U tracedUseCase](u U, p useCaseTracerParam) U {
	if p.Tracer != nil {
		u.TraceTo(p.Tracer)
	}
	return u
}
