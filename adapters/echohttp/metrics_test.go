package echohttp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sigilauth/sigil/adapters/echohttp"
)

// TestRequestMetrics: every answer is counted under its role, the route's
// template, method and status, and timed; what a caller controls (paths,
// methods) cannot grow the number of series.
func TestRequestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := echohttp.NewHTTPMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(d *deps) { d.metrics = m })

	for range 3 {
		e.issue(jwtClient, jwtSecret, "country.read")
	}
	if rec := e.toAuth(post(tokenPath, form("grant_type", "client_credentials", "client_id", jwtClient, "client_secret", "wrong"))); rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", rec.Code)
	}
	for i := range 50 {
		e.toAuth(httptest.NewRequest(http.MethodGet, fmt.Sprintf("/probe-%d", i), nil))
		e.toResource(httptest.NewRequest(fmt.Sprintf("BREW%d", i), countryPath+"/code/AUS", nil))
	}
	e.toResource(httptest.NewRequest(http.MethodGet, countryPath+"/code/AUS", nil))

	want := `
# HELP sigil_http_requests_total HTTP requests answered, by role, route template, method and status code.
# TYPE sigil_http_requests_total counter
sigil_http_requests_total{code="200",method="POST",role="auth",route="/ms-auth-server/oauth2/token"} 3
sigil_http_requests_total{code="401",method="GET",role="resource",route="/ms-system/country/code/:code"} 1
sigil_http_requests_total{code="401",method="POST",role="auth",route="/ms-auth-server/oauth2/token"} 1
sigil_http_requests_total{code="404",method="GET",role="auth",route="unmatched"} 50
sigil_http_requests_total{code="405",method="other",role="resource",route="/ms-system/country/code/:code"} 50
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sigil_http_requests_total"); err != nil {
		t.Error(err)
	}
	// One histogram per role and route (the token endpoint, the country
	// route, everything unmatched), whatever was sent.
	if n, err := testutil.GatherAndCount(reg, "sigil_http_request_duration_seconds"); err != nil || n != 3 {
		t.Errorf("%d duration series (%v); want 3", n, err)
	}
}

// TestRefusalMetrics: failed client authentications are counted by why
// they failed, and throttled requests by why they were turned away, so
// that a dashboard tells a flood of wrong secrets from a client over its
// rate, as the access log does line by line.
func TestRefusalMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := echohttp.NewHTTPMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(d *deps) { d.metrics = m; d.failureLimit = 3 })

	e.issue(jwtClient, jwtSecret, "country.read") // a success counts nowhere here
	e.toAuth(post(tokenPath, form("grant_type", "client_credentials", "client_id", "nobody", "client_secret", "whatever-it-is")))
	for range 5 {
		e.toAuth(post(tokenPath, form("grant_type", "client_credentials", "client_id", jwtClient, "client_secret", "wrong")))
	}

	want := `
# HELP sigil_client_auth_failures_total Client authentications refused (invalid_client), by reason: wrong secret, unknown client, assertion replayed...
# TYPE sigil_client_auth_failures_total counter
sigil_client_auth_failures_total{reason="unknown client"} 1
sigil_client_auth_failures_total{reason="wrong secret"} 3
# HELP sigil_requests_throttled_total Requests turned away before any work, by role and reason: failures (too many failed authentications), rate (over the client's rate limit), busy (shed: no slot for the slow hash).
# TYPE sigil_requests_throttled_total counter
sigil_requests_throttled_total{reason="failures",role="auth"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sigil_client_auth_failures_total", "sigil_requests_throttled_total"); err != nil {
		t.Error(err)
	}
}
