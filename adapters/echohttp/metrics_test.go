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
