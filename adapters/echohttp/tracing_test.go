package echohttp_test

import (
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sigilauth/sigil/adapters/echohttp"
)

const (
	callerTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan   = "00f067aa0ba902b7"
	callerHeader = "00-" + callerTrace + "-" + callerSpan + "-01"
)

// tracedEnv is the two servers reporting their spans to a recorder.
func tracedEnv(t *testing.T) (*env, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	e := newEnv(t, func(d *deps) {
		d.tracing = &echohttp.Tracing{Provider: tp, Propagator: propagation.TraceContext{}}
	})
	return e, rec
}

// serverSpan is the one ended server span named name.
func serverSpan(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == name && s.SpanKind() == trace.SpanKindServer {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		var names []string
		for _, s := range rec.Ended() {
			names = append(names, s.Name())
		}
		t.Fatalf("%d server spans named %q; spans: %q", len(found), name, names)
	}
	return found[0]
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// A request with a traceparent becomes a server span of the caller's
// trace, under the caller's span, named by its route template; the access
// line names the trace.
func TestARequestIsASpanOfTheCallersTrace(t *testing.T) {
	e, rec := tracedEnv(t)
	token := e.issue(jwtClient, jwtSecret, "country.read")
	req := with(with(get(countryPath+"/code/AUS"), "Authorization", bearer(token)), "traceparent", callerHeader)
	req.Header.Set("X-Request-Id", "traced-1")
	if got := e.toResource(req); got.Code != http.StatusOK {
		t.Fatalf("status %d: %s", got.Code, got.Body)
	}

	s := serverSpan(t, rec, "GET "+countryPath+"/code/:code")
	if s.SpanContext().TraceID().String() != callerTrace || s.Parent().SpanID().String() != callerSpan || !s.Parent().IsRemote() {
		t.Errorf("span %s under %s, want under the caller's %s of trace %s", s.SpanContext().SpanID(), s.Parent().SpanID(), callerSpan, callerTrace)
	}
	a := attrs(s)
	if a["http.route"].AsString() != countryPath+"/code/:code" || a["http.response.status_code"].AsInt64() != 200 ||
		a["url.path"].AsString() != countryPath+"/code/AUS" || a["http.request.method"].AsString() != "GET" {
		t.Errorf("attributes %v", a)
	}
	if s.Status().Code != codes.Unset {
		t.Errorf("a 200's span has status %v", s.Status())
	}
	for k, v := range a {
		if v.String() == token || v.String() == bearer(token) {
			t.Errorf("attribute %s holds the token", k)
		}
	}
	if got := e.accessLine(t, "traced-1")["trace_id"]; got != callerTrace {
		t.Errorf("access line trace_id %v, want %s", got, callerTrace)
	}
}

// Without a traceparent a request starts a trace of its own; a refusal
// is the caller's error, not the server's, so its span is not failed.
func TestARequestWithoutTraceparentStartsATrace(t *testing.T) {
	e, rec := tracedEnv(t)
	req := get(countryPath + "/code/AUS")
	req.Header.Set("X-Request-Id", "traced-2")
	if got := e.toResource(req); got.Code != http.StatusUnauthorized {
		t.Fatalf("status %d", got.Code)
	}
	s := serverSpan(t, rec, "GET "+countryPath+"/code/:code")
	if s.Parent().IsValid() {
		t.Errorf("span has parent %v, want a root", s.Parent())
	}
	if attrs(s)["http.response.status_code"].AsInt64() != 401 || s.Status().Code != codes.Unset {
		t.Errorf("status attribute %v, span status %v", attrs(s)["http.response.status_code"], s.Status())
	}
	if got := e.accessLine(t, "traced-2")["trace_id"]; got != s.SpanContext().TraceID().String() {
		t.Errorf("access line trace_id %v, want the new trace's %s", got, s.SpanContext().TraceID())
	}
}

// Without Tracing, a traceparent changes nothing: no trace id is logged.
func TestWithoutTracingTheAccessLineNamesNoTrace(t *testing.T) {
	e := newEnv(t)
	req := with(get(countryPath+"/code/AUS"), "traceparent", callerHeader)
	req.Header.Set("X-Request-Id", "untraced")
	e.toResource(req)
	if got, ok := e.accessLine(t, "untraced")["trace_id"]; ok {
		t.Errorf("access line has trace_id %v", got)
	}
}
