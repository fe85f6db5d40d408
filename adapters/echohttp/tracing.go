package echohttp

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing makes a server report each request as an OpenTelemetry server
// span, child of the caller's span when the request carries a W3C
// traceparent. Bootstrap sets it only when tracing is on: off, no
// middleware is installed at all.
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
}

// instrumentation is the name of the tracer of Sigil's own spans.
const instrumentation = "github.com/sigilauth/sigil"

// middleware starts the request's span, named "METHOD /route/template" as
// the HTTP semantic conventions say (the template, not the path: a path
// carries country codes and would make a name per value), and puts it in
// the request's context for the use case, the storage calls and the
// outbound calls below it. It is outermost, so the status it records is
// the one sent, whatever became of an error or a panic further in.
//
// Only what the access line logs is recorded: never headers, the query or
// the body, which carry credentials and tokens.
func (t *Tracing) middleware() echo.MiddlewareFunc {
	tracer := t.Provider.Tracer(instrumentation)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx := t.Propagator.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			route := c.Path()
			name := req.Method
			if route != "" {
				name += " " + route
			}
			scheme := "http"
			if req.TLS != nil {
				scheme = "https"
			}
			attrs := []attribute.KeyValue{
				semconv.HTTPRequestMethodKey.String(req.Method),
				semconv.URLPath(req.URL.Path),
				semconv.URLScheme(scheme),
				semconv.ServerAddress(req.Host),
				semconv.ClientAddress(c.RealIP()),
				semconv.UserAgentOriginal(bounded(req.UserAgent(), maxUserAgentLen)),
			}
			if route != "" {
				attrs = append(attrs, semconv.HTTPRoute(route))
			}
			ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
			defer span.End()
			c.SetRequest(req.WithContext(ctx))

			err := next(c)

			status := c.Response().Status
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			// A 4xx is the caller's mistake, not the server's: the
			// conventions leave a server span's status unset for it.
			if status >= http.StatusInternalServerError {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			return err
		}
	}
}

// traceID is the id of the request's trace for the access line, "" when
// the request has none. It is logged for a trace the sampler left out too:
// the resource and authorization servers then still log the same id for a
// request and its introspection call.
func traceID(c echo.Context) string {
	sc := trace.SpanContextFromContext(c.Request().Context())
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}
