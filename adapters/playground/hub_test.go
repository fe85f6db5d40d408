package playground_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/internal/requestid"
	"github.com/sigilauth/sigil/adapters/playground"
	"github.com/sigilauth/sigil/application"
)

const (
	sessionA = "0123456789abcdef0123456789abcdef"
	sessionB = "fedcba9876543210fedcba9876543210"
)

func request(session string, n string) context.Context {
	return requestid.With(context.Background(), "pg-"+session+"-"+n)
}

// stream opens the events of session and returns its lines as they come.
func stream(t *testing.T, srv *httptest.Server, session string) (*http.Response, <-chan string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"?session="+session, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				lines <- sc.Text()
			}
		}
	}()
	if resp.StatusCode == http.StatusOK {
		if first := <-lines; first != "data: {}" { // the ready event
			t.Fatalf("first event %q", first)
		}
	}
	return resp, lines
}

func TestHubWatchesNothingWithoutSubscribers(t *testing.T) {
	h := playground.NewHub()
	if h.Watched(request(sessionA, "1")) {
		t.Error("watched without a subscriber")
	}
	h.Report(request(sessionA, "1"), application.UpstreamCall{Kind: "jwks"}) // to nobody, harmlessly
}

// Each stream sees the calls of its own session's requests, and nothing
// of another session's or of a request that is not the playground's.
func TestHubStreamsOnlyTheSessionsOwnCalls(t *testing.T) {
	h := playground.NewHub()
	srv := httptest.NewServer(h.Events())
	t.Cleanup(srv.Close) // after the streams' cancels, which come later and run first
	_, a := stream(t, srv, sessionA)

	for _, ctx := range []context.Context{
		request(sessionB, "1"),
		requestid.With(context.Background(), "0123456789abcdef"),
		requestid.With(context.Background(), "pg-"+sessionA), // no request number
		context.Background(),
	} {
		if h.Watched(ctx) {
			t.Errorf("request %q is watched", requestid.From(ctx))
		}
		h.Report(ctx, application.UpstreamCall{Kind: "introspection", URL: "http://other"})
	}
	if !h.Watched(request(sessionA, "7")) {
		t.Fatal("the session's own request is not watched")
	}
	h.Report(request(sessionA, "7"), application.UpstreamCall{Kind: "jwks", KeyID: "k1", Status: 200, Duration: 1500 * time.Microsecond})
	select {
	case line := <-a:
		for _, want := range []string{`"request_id":"pg-` + sessionA + `-7"`, `"kind":"jwks"`, `"kid":"k1"`, `"status":200`, `"duration_ms":1.5`} {
			if !strings.Contains(line, want) {
				t.Errorf("event %s lacks %s", line, want)
			}
		}
		if strings.Contains(line, "http://other") {
			t.Errorf("another request's call reached the stream: %s", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
}

func TestHubBoundsAndClose(t *testing.T) {
	h := playground.NewHub()
	srv := httptest.NewServer(h.Events())
	t.Cleanup(srv.Close) // after the streams' cancels, which come later and run first
	if resp, _ := stream(t, srv, "not-a-session"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad session: %d", resp.StatusCode)
	}
	var open []<-chan string
	for range 4 {
		_, lines := stream(t, srv, sessionA)
		open = append(open, lines)
	}
	if resp, _ := stream(t, srv, sessionA); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a fifth stream of one session: %d, want 503", resp.StatusCode)
	}
	h.Close()
	for _, lines := range open {
		select {
		case _, more := <-lines:
			if more {
				t.Error("an event after Close")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a stream outlived Close")
		}
	}
	if h.Watched(request(sessionA, "1")) {
		t.Error("watched after every stream ended")
	}
}

func TestPageServesItsFilesUnderTheCSP(t *testing.T) {
	page, err := playground.Page(playground.PageOptions{Issuer: "http://localhost:8085/ms-auth-server", ResourceURL: "http://localhost:8091/ms-system"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/ms-auth-server", page))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]int{
		"/ms-auth-server/playground":                301, // to the directory
		"/ms-auth-server/playground/":               200,
		"/ms-auth-server/playground/playground.js":  200,
		"/ms-auth-server/playground/playground.css": 200,
		"/ms-auth-server/playground/config.json":    200,
		"/ms-auth-server/playground/secret.txt":     404,
	} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' http://localhost:8091;") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
}

// Asking costs the token check no allocation, whether nobody listens or
// only other sessions do.
func TestHubWatchedAllocatesNothing(t *testing.T) {
	h := playground.NewHub()
	ctx := request(sessionA, "1")
	if n := testing.AllocsPerRun(100, func() { h.Watched(ctx) }); n != 0 {
		t.Errorf("Watched without subscribers: %v allocations", n)
	}
	srv := httptest.NewServer(h.Events())
	t.Cleanup(srv.Close)
	stream(t, srv, sessionB)
	if n := testing.AllocsPerRun(100, func() { h.Watched(ctx) }); n != 0 {
		t.Errorf("Watched with another session's stream: %v allocations", n)
	}
}
