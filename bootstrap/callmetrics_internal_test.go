package bootstrap

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestOutboundCallsCounted: every call through the outbound client is
// counted by what it is for and how it ended, so that an authorization
// server answering 5xx, a refused connection and a timeout each show.
func TestOutboundCallsCounted(t *testing.T) {
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ms-auth-server/oauth2/jwks":
			w.WriteHeader(http.StatusOK)
		case "/ms-auth-server/oauth2/introspect":
			w.WriteHeader(http.StatusBadGateway)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer as.Close()
	// A server that hangs up on every connection: a network error, not
	// an answer and not a timeout.
	hangUp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hangUp.Close()
	go func() {
		for {
			conn, err := hangUp.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	closedURL := "http://" + hangUp.Addr().String() + "/jwks.json"

	c := Defaults()
	c.ResourceIssuer = as.URL + "/ms-auth-server"
	reg := prometheus.NewPedanticRegistry()
	hc, err := instrumentOutbound(&http.Client{Timeout: 100 * time.Millisecond}, reg, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{c.JWKSURL(), c.JWKSURL(), c.IntrospectionURL(), as.URL + "/client/jwks.json", closedURL, as.URL + "/slow"} {
		if resp, err := hc.Get(u); err == nil {
			resp.Body.Close()
		}
	}
	want := `
# HELP sigil_upstream_requests_total HTTP calls to other servers, by call (jwks, introspection, client_jwks) and outcome (success, client_error, server_error, timeout, network_error).
# TYPE sigil_upstream_requests_total counter
sigil_upstream_requests_total{call="client_jwks",outcome="client_error"} 1
sigil_upstream_requests_total{call="client_jwks",outcome="network_error"} 1
sigil_upstream_requests_total{call="client_jwks",outcome="timeout"} 1
sigil_upstream_requests_total{call="introspection",outcome="server_error"} 1
sigil_upstream_requests_total{call="jwks",outcome="success"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sigil_upstream_requests_total"); err != nil {
		t.Error(err)
	}
}
