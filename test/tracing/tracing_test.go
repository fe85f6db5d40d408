// Package tracing_test sends Sigil's traces to a real receiver, Jaeger's
// all-in-one (cmd/jaeger, built from the Go module proxy by
// tools/jaeger/build.sh), and reads them back through Jaeger's query API,
// as an operator would see them.
package tracing_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/test/testenv"
	"github.com/sigilauth/sigil/test/testnode"
)

// jaeger is a Jaeger all-in-one with in-memory storage on free loopback
// ports.
type jaeger struct {
	otlpHTTP string // http://host:port of the OTLP/HTTP receiver
	otlpGRPC string // http://host:port of the OTLP/gRPC receiver
	query    string // base URL of the query API
}

// jaegerConfig is the collector configuration of Jaeger v2: OTLP in,
// memory storage, the query API out, nothing else listening.
const jaegerConfig = `
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    traces:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
      http:
        endpoint: 127.0.0.1:%d
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// startJaeger builds Jaeger if this machine has not yet (tools/jaeger),
// starts it, and waits for its query API.
func startJaeger(t *testing.T) *jaeger {
	t.Helper()
	build := exec.Command("bash", filepath.Join("..", "..", "tools", "jaeger", "build.sh"))
	build.Stderr = os.Stderr
	out, err := build.Output()
	if err != nil {
		t.Fatalf("build jaeger: %v", err)
	}
	bin := strings.TrimSpace(string(out))

	queryPort, queryGRPC, grpcPort, httpPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	conf := filepath.Join(t.TempDir(), "jaeger.yaml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, jaegerConfig, queryPort, queryGRPC, grpcPort, httpPort), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testenv.LockedBuffer{}
	cmd := exec.Command(bin, "--config", conf)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start jaeger: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("jaeger's log:\n%s", logs)
		}
	})
	j := &jaeger{
		otlpHTTP: "http://127.0.0.1:" + strconv.Itoa(httpPort),
		otlpGRPC: "http://127.0.0.1:" + strconv.Itoa(grpcPort),
		query:    "http://127.0.0.1:" + strconv.Itoa(queryPort),
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("jaeger exited at start:\n%s", logs)
		default:
		}
		if resp, err := http.Get(j.query + "/api/services"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return j
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("jaeger's query API did not answer within a minute:\n%s", logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// span is what the test reads of a span from Jaeger's query API, with its
// process's tags folded in.
type span struct {
	ID, Parent, Name, Kind, Role string
	Tags                         map[string]any
}

// traceJSON is the answer of GET /api/traces/{id}.
type traceJSON struct {
	Data []struct {
		Spans []struct {
			SpanID        string `json:"spanID"`
			OperationName string `json:"operationName"`
			References    []struct {
				RefType string `json:"refType"`
				SpanID  string `json:"spanID"`
			} `json:"references"`
			Tags      []tagJSON `json:"tags"`
			ProcessID string    `json:"processID"`
		} `json:"spans"`
		Processes map[string]struct {
			ServiceName string    `json:"serviceName"`
			Tags        []tagJSON `json:"tags"`
		} `json:"processes"`
	} `json:"data"`
}

type tagJSON struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// trace returns the spans Jaeger holds of trace id, none if it holds
// none.
func (j *jaeger) trace(t *testing.T, id string) []span {
	t.Helper()
	resp, err := http.Get(j.query + "/api/traces/" + id)
	if err != nil {
		t.Fatalf("query jaeger: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query jaeger: %d %s", resp.StatusCode, body)
	}
	var tr traceJSON
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("jaeger's answer: %v: %s", err, body)
	}
	var out []span
	for _, d := range tr.Data {
		for _, s := range d.Spans {
			sp := span{ID: s.SpanID, Name: s.OperationName, Tags: map[string]any{}}
			for _, r := range s.References {
				if r.RefType == "CHILD_OF" {
					sp.Parent = r.SpanID
				}
			}
			for _, tag := range s.Tags {
				sp.Tags[tag.Key] = tag.Value
			}
			sp.Kind, _ = sp.Tags["span.kind"].(string)
			for _, tag := range d.Processes[s.ProcessID].Tags {
				if tag.Key == "sigil.role" {
					sp.Role, _ = tag.Value.(string)
				}
			}
			out = append(out, sp)
		}
	}
	return out
}

// find is the first span of role named name of kind ("" for any), or nil.
func find(spans []span, role, name, kind string) *span {
	for i, s := range spans {
		if s.Role == role && s.Name == name && (kind == "" || s.Kind == kind) {
			return &spans[i]
		}
	}
	return nil
}

// newTraceparent makes a W3C traceparent of the test's own: a sampled
// trace, as a caller in front of Sigil would send it.
func newTraceparent() (header, traceID, spanID string) {
	var b [24]byte
	_, _ = rand.Read(b[:])
	traceID, spanID = hex.EncodeToString(b[:16]), hex.EncodeToString(b[16:])
	return "00-" + traceID + "-" + spanID + "-01", traceID, spanID
}

const (
	opaqueClientID     = "user-client-opaque"
	opaqueClientSecret = "user-client-secret"
)

// opaqueToken gets an opaque token from the auth node, so that the
// resource node must introspect it.
func opaqueToken(t *testing.T, authURL string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"country.read"}}
	req, _ := http.NewRequest(http.MethodPost, authURL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(opaqueClientID, opaqueClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// getCountry asks the resource node for AUS with the token, carrying
// traceparent.
func getCountry(t *testing.T, resourceURL, token, traceparent string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, resourceURL+"/country/code/AUS", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("traceparent", traceparent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "AUSTRALIA") {
		t.Fatalf("country: %d %s", resp.StatusCode, body)
	}
}

// requestLine is the access line of the request to path in logs, "" if
// there is none.
func requestLine(logs, path string) string {
	for line := range strings.Lines(logs) {
		if strings.Contains(line, "msg=request ") && strings.Contains(line, "path="+path+" ") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// TestOneTraceSpansTheResourceRequestAndItsIntrospection deploys the two
// roles apart, each exporting to Jaeger (the auth node over OTLP/HTTP, the
// resource node over OTLP/gRPC), sends the resource server a request that
// carries a traceparent of the test's own, and finds in Jaeger one trace,
// the test's, holding the resource request, its introspection call, the
// authorization server's answer to it and the token lookup beneath that.
// A node with tracing turned off, beside them, exports nothing and logs no
// trace id.
func TestOneTraceSpansTheResourceRequestAndItsIntrospection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts jaeger and servers")
	}
	j := startJaeger(t)

	// Off first: OTEL_SDK_DISABLED wins over an endpoint that would work.
	offHeader, offTrace, _ := newTraceparent()
	t.Run("off", func(t *testing.T) {
		t.Setenv("OTEL_SDK_DISABLED", "true")
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", j.otlpHTTP)
		n := testnode.Start(t, nil)
		getCountry(t, n.ResourceURL, opaqueToken(t, n.AuthURL), offHeader)
		if err := n.Stop(); err != nil { // a provider would flush here
			t.Fatal(err)
		}
		logs := n.Logs.String()
		if strings.Contains(logs, "trace_id=") || strings.Contains(logs, "tracing on") {
			t.Errorf("tracing off, the log names traces:\n%s", logs)
		}
		if requestLine(logs, "/ms-system/country/code/AUS") == "" {
			t.Errorf("no access line for the resource request:\n%s", logs)
		}
	})

	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100") // export within 100 ms, not 5 s
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", j.otlpHTTP)
	auth := testnode.Start(t, func(c *bootstrap.Config) { c.Role = bootstrap.RoleAuth })
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", j.otlpGRPC)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	res := testnode.Start(t, func(c *bootstrap.Config) {
		c.Role = bootstrap.RoleResource
		c.ResourceIssuer = auth.Config.Issuer()
	})

	header, traceID, callerSpan := newTraceparent()
	getCountry(t, res.ResourceURL, opaqueToken(t, auth.AuthURL), header)

	const (
		resourceRoute = "GET /ms-system/country/code/:code"
		introspect    = "POST /ms-auth-server/oauth2/introspect"
		tokenLookup   = "SELECT sigil_opaque_tokens"
	)
	var spans []span
	deadline := time.Now().Add(30 * time.Second)
	for {
		spans = j.trace(t, traceID)
		if find(spans, "resource", resourceRoute, "server") != nil && find(spans, "resource", introspect, "client") != nil &&
			find(spans, "auth", introspect, "server") != nil && find(spans, "auth", tokenLookup, "client") != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s in jaeger after 30 s: %+v", traceID, spans)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// One chain, from the test's span down to the token lookup.
	server := find(spans, "resource", resourceRoute, "server")
	if server.Parent != callerSpan {
		t.Errorf("the resource request's span has parent %q, want the caller's %s", server.Parent, callerSpan)
	}
	if server.Tags["http.route"] != "/ms-system/country/code/:code" || server.Tags["http.response.status_code"] != float64(200) {
		t.Errorf("resource span tags: %v", server.Tags)
	}
	byID := map[string]span{}
	for _, s := range spans {
		byID[s.ID] = s
	}
	descends := func(s *span, ancestor *span) bool {
		for cur, ok := *s, true; ok; cur, ok = byID[cur.Parent] {
			if cur.ID == ancestor.ID {
				return true
			}
		}
		return false
	}
	authorize := find(spans, "resource", "AuthorizeBearer", "internal")
	client := find(spans, "resource", introspect, "client")
	answer := find(spans, "auth", introspect, "server")
	useCase := find(spans, "auth", "Introspect", "internal")
	lookup := find(spans, "auth", tokenLookup, "client")
	for _, link := range []struct {
		what             string
		child, ancestor  *span
		wantDirectParent bool
	}{
		{"the bearer check under the resource request", authorize, server, true},
		{"the introspection call under the bearer check", client, authorize, false},
		{"the auth server's answer under the introspection call", answer, client, true},
		{"the Introspect use case under the answer", useCase, answer, true},
		{"the token lookup under the use case", lookup, useCase, false},
	} {
		switch {
		case link.child == nil:
			t.Errorf("%s: no such span in %+v", link.what, spans)
		case link.wantDirectParent && link.child.Parent != link.ancestor.ID, !descends(link.child, link.ancestor):
			t.Errorf("%s: %s has parent %s, want under %s (%s)", link.what, link.child.Name, link.child.Parent, link.ancestor.Name, link.ancestor.ID)
		}
	}
	if lookup != nil && lookup.Tags["db.system.name"] != "sqlite" {
		t.Errorf("token lookup tags: %v", lookup.Tags)
	}

	// Both access lines name the trace, so logs and traces meet.
	for _, l := range []struct {
		node *testnode.Node
		path string
	}{{res, "/ms-system/country/code/AUS"}, {auth, "/ms-auth-server/oauth2/introspect"}} {
		line := requestLine(l.node.Logs.String(), l.path)
		if !strings.Contains(line, " trace_id="+traceID) {
			t.Errorf("access line of %s: %q, want trace_id=%s", l.path, line, traceID)
		}
	}

	// The disabled node's request came before all of this, and its node
	// stopped (and would have flushed) before: Jaeger, which now holds
	// the later trace, holds nothing of it.
	if got := j.trace(t, offTrace); len(got) != 0 {
		t.Errorf("tracing off, jaeger holds %d spans of the request's trace: %+v", len(got), got)
	}
}

// hangingReceiver accepts connections and never answers, as a receiver
// that froze would; it returns its URL.
func hangingReceiver(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// A receiver that hangs costs warnings, never a failed request or a
// failed stop: the spans still queued at stop are given up after a short
// wait, shorter than the exporter's own timeout.
func TestAReceiverThatHangsFailsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", hangingReceiver(t))
	n := testnode.Start(t, nil)
	header, traceID, _ := newTraceparent()
	getCountry(t, n.ResourceURL, opaqueToken(t, n.AuthURL), header)
	if err := n.Stop(); err != nil {
		t.Fatalf("stop with the receiver hanging: %v", err)
	}
	logs := n.Logs.String()
	if !strings.Contains(requestLine(logs, "/ms-system/country/code/AUS"), "trace_id="+traceID) {
		t.Errorf("no traced access line:\n%s", logs)
	}
	if !strings.Contains(logs, "flush traces at stop") && !strings.Contains(logs, "msg=tracing ") {
		t.Errorf("the lost spans are not reported:\n%s", logs)
	}
	if testing.Verbose() {
		t.Log(logs)
	}
}
