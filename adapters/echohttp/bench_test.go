package echohttp_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigilauth/sigil/adapters/echohttp"
)

// The benchmarks below measure the HTTP adapter on the hot paths: Echo's
// routing, the middleware, form parsing, client authentication from the
// verified-credential cache, the use case over fakes and the response
// encoding, without a network or real crypto. allocs/op is what issue 5
// asks to keep low; each iteration also builds its request with
// httptest.NewRequest, a fixed share of the figure.
//
//	go test -run '^$' -bench . -benchmem ./adapters/echohttp/

func benchEnv(b *testing.B) *env {
	// Production logs at info or above; debug lines would be most of the cost.
	return newEnv(b, func(d *deps) { d.logLevel = slog.LevelWarn })
}

func benchPost(b *testing.B, srv http.Handler, path, authorization, body string) {
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", authorization)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkTokenEndpoint(b *testing.B) {
	for _, c := range []struct{ name, id, secret string }{
		{"jwt", jwtClient, jwtSecret},
		{"opaque", opaqueClient, opaqueSecret},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := benchEnv(b)
			benchPost(b, e.auth, tokenPath, basic(c.id, c.secret), "grant_type=client_credentials")
		})
	}
}

// BenchmarkTokenEndpointMetrics is the opaque token request with the
// request metrics off and on: the per-request cost of counting.
func BenchmarkTokenEndpointMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
			e := newEnv(b, func(d *deps) {
				d.logLevel = slog.LevelWarn
				if on {
					m, err := echohttp.NewHTTPMetrics(prometheus.NewRegistry())
					if err != nil {
						b.Fatal(err)
					}
					d.metrics = m
				}
			})
			benchPost(b, e.auth, tokenPath, basic(opaqueClient, opaqueSecret), "grant_type=client_credentials")
		})
	}
}

func BenchmarkIntrospectionEndpoint(b *testing.B) {
	e := benchEnv(b)
	token := e.issue(opaqueClient, opaqueSecret, "country.read")
	benchPost(b, e.auth, introspectPath, basic(jwtClient, jwtSecret), "token="+token)
}

func BenchmarkCountryLookup(b *testing.B) {
	e := benchEnv(b)
	auth := bearer(e.issue(jwtClient, jwtSecret, "country.read"))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, countryPath+"/code/AUS", nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		e.resource.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
