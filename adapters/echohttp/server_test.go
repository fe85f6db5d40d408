package echohttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/adapters/echohttp"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// servers names both servers of an env, for tests that apply to each.
func servers(e *env) map[string]*echo.Echo {
	return map[string]*echo.Echo{"auth": e.auth, "resource": e.resource}
}

func TestHealth(t *testing.T) {
	notReady := func(d *deps) {
		d.ready = func(context.Context) error { return fmt.Errorf("ping redis: %s", secretText) }
	}
	tests := []struct {
		name     string
		tweak    func(*deps)
		path     string
		status   int
		wantBody string
	}{
		{"healthz", nil, "/healthz", http.StatusOK, `{"status":"ok"}`},
		{"healthz while not ready", notReady, "/healthz", http.StatusOK, `{"status":"ok"}`},
		{"readyz without a check", nil, "/readyz", http.StatusOK, `{"status":"ok"}`},
		{"readyz ready", func(d *deps) { d.ready = func(context.Context) error { return nil } }, "/readyz", http.StatusOK, `{"status":"ok"}`},
		{"readyz not ready", notReady, "/readyz", http.StatusServiceUnavailable, `{"status":"unavailable"}`},
		{"readyz names what is down", func(d *deps) {
			d.ready = func(context.Context) error {
				return &echohttp.NotReady{Down: []string{"redis"}, Causes: []error{fmt.Errorf("dial: %s", secretText)}}
			}
		}, "/readyz", http.StatusServiceUnavailable, `{"status":"unavailable","down":["redis"]}`},
	}
	for _, tt := range tests {
		var tweaks []func(*deps)
		if tt.tweak != nil {
			tweaks = append(tweaks, tt.tweak)
		}
		e := newEnv(t, tweaks...)
		for name, srv := range servers(e) {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				rec := e.serve(srv, get(tt.path))
				check(t, rec, want{status: tt.status})
				equalJSON(t, rec.Body.Bytes(), tt.wantBody)
			})
		}
		if tt.status != http.StatusOK && strings.Count(e.logs.String(), secretText) != 2 {
			t.Errorf("%s: want the readiness error logged once per server; log:\n%s", tt.name, e.logs)
		}
	}
}

func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name      string
		srv       *echo.Echo
		req       *http.Request
		status    int
		wantBody  string
		wantAllow string // a method the Allow header must list
	}{
		{"auth: no such path", e.auth, get("/ms-auth-server/oauth2/authorize"), http.StatusNotFound, `{"error":"not_found"}`, ""},
		{"auth: path outside base", e.auth, post("/oauth2/token", ""), http.StatusNotFound, `{"error":"not_found"}`, ""},
		{"auth: GET introspect", e.auth, get(introspectPath), http.StatusMethodNotAllowed, `{"error":"method_not_allowed"}`, "POST"},
		{"auth: POST jwks", e.auth, post(jwksPath, ""), http.StatusMethodNotAllowed, `{"error":"method_not_allowed"}`, "GET"},
		{"resource: no such path", e.resource, get("/ms-system/customer"), http.StatusNotFound, `{"error":"not_found"}`, ""},
		{"resource: DELETE country", e.resource, httptest.NewRequest(http.MethodDelete, countryPath+"/code/AUS", nil), http.StatusMethodNotAllowed, `{"error":"method_not_allowed"}`, "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.serve(tt.srv, tt.req)
			check(t, rec, want{status: tt.status})
			if allow := rec.Header().Get("Allow"); !strings.Contains(allow, tt.wantAllow) || (tt.wantAllow == "") != (allow == "") {
				t.Errorf("Allow = %q, want it to list %q", allow, tt.wantAllow)
			}
			equalJSON(t, rec.Body.Bytes(), tt.wantBody)
		})
	}
}

// TestPanicRecovered checks that a panicking handler answers 500 and the
// server keeps serving.
func TestPanicRecovered(t *testing.T) {
	e := newEnv(t)
	for name, srv := range servers(e) {
		t.Run(name, func(t *testing.T) {
			srv.GET("/boom", func(echo.Context) error { panic("boom: " + secretText) })

			rec := e.serve(srv, get("/boom"))
			check(t, rec, want{status: http.StatusInternalServerError, header: map[string]string{"Cache-Control": "no-store"}})
			equalJSON(t, rec.Body.Bytes(), `{"error":"server_error","error_description":"internal error"}`)

			check(t, e.serve(srv, get("/healthz")), want{status: http.StatusOK})
		})
	}
	records := e.logs.records(t, "internal error")
	if len(records) != 2 {
		t.Fatalf("want one internal error logged per panic, got %d", len(records))
	}
	for _, r := range records {
		if stack, _ := r["stack"].(string); !strings.Contains(stack, "server_test.go") {
			t.Errorf("logged stack does not show the panicking handler: %q", stack)
		}
	}
}

// TestInternalErrorsStayInternal checks that whatever text a failing
// dependency puts in its error reaches the log once and no response.
func TestInternalErrorsStayInternal(t *testing.T) {
	tokensDown := func(d *deps) { d.tokens = fakes.BrokenTokens{Err: errSecret} }
	tests := []struct {
		name   string
		tweak  func(*deps)
		call   func(e *env) *http.Request
		toAuth bool
		status int
	}{
		{
			name: "token store down at issue", tweak: tokensDown, toAuth: true, status: http.StatusInternalServerError,
			call: func(*env) *http.Request {
				return post(tokenPath, form("grant_type", "client_credentials", "client_id", opaqueClient, "client_secret", opaqueSecret))
			},
		},
		{
			name: "token store down at introspection", tweak: tokensDown, toAuth: true, status: http.StatusInternalServerError,
			call: func(*env) *http.Request {
				return post(introspectPath, form("client_id", jwtClient, "client_secret", jwtSecret, "token", "opaque-token"))
			},
		},
		{
			name: "country table down", tweak: func(d *deps) { d.countries = fakes.BrokenCountries{Err: errSecret} }, status: http.StatusInternalServerError,
			call: func(e *env) *http.Request {
				return with(get(countryPath+"/code/AUS"), "Authorization", bearer(e.issue(jwtClient, jwtSecret, "country.read")))
			},
		},
		{
			name: "introspection refuses the resource server",
			tweak: func(d *deps) {
				d.introspector = fakes.Introspector{Err: domain.ErrInvalidClient.With("refused " + secretText)}
			},
			// The caller's token is not at fault: 500, not 401.
			status: http.StatusInternalServerError,
			call: func(*env) *http.Request {
				return with(get(countryPath), "Authorization", bearer("opaque-token"))
			},
		},
		{
			name: "introspection unreachable",
			tweak: func(d *deps) {
				d.introspector = fakes.Introspector{Err: fmt.Errorf("%s: %w", secretText, domain.ErrTemporarilyUnavailable)}
			},
			status: http.StatusServiceUnavailable,
			call: func(*env) *http.Request {
				return with(get(countryPath), "Authorization", bearer("opaque-token"))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.tweak)
			srv := e.resource
			if tt.toAuth {
				srv = e.auth
			}
			rec := e.serve(srv, tt.call(e))
			check(t, rec, want{status: tt.status})
			if strings.Contains(rec.Body.String(), secretText) || strings.Contains(fmt.Sprint(rec.Header()), secretText) {
				t.Errorf("response leaks the internal error: %v %s", rec.Header(), rec.Body)
			}
			if n := strings.Count(e.logs.String(), secretText); n != 1 {
				t.Errorf("internal error logged %d times, want once; log:\n%s", n, e.logs)
			}
		})
	}
}

// TestRequestLog checks the request log: one line per request with what
// an operator needs, and nothing that could carry a secret.
func TestRequestLog(t *testing.T) {
	e := newEnv(t)
	token := e.issue(jwtClient, jwtSecret, "country.read")

	req := with(get(countryPath+"?page=1&page_size=2&access_token=query-secret"), "Authorization", bearer(token))
	req.Header.Set("X-Request-Id", "req-42.a_b")
	rec := e.toResource(req)
	check(t, rec, want{status: http.StatusOK, header: map[string]string{"X-Request-Id": "req-42.a_b"}})

	req = get(countryPath + "/code/AUS")
	req.Header.Set("X-Request-Id", "not ok\n")
	rec = e.toResource(req)
	generated := rec.Header().Get("X-Request-Id")
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(generated) {
		t.Errorf("X-Request-Id = %q, want a generated id replacing the unusable one", generated)
	}

	records := e.logs.records(t, "request")
	got := map[string]map[string]any{}
	for _, r := range records {
		got[r["request_id"].(string)] = r
	}
	for id, w := range map[string]struct {
		path   string
		status float64
	}{
		"req-42.a_b": {countryPath, 200},
		generated:    {countryPath + "/code/AUS", 401},
	} {
		r, ok := got[id]
		if !ok {
			t.Errorf("no request log line with request_id %q; log:\n%s", id, e.logs)
			continue
		}
		if r["method"] != "GET" || r["path"] != w.path || r["status"] != w.status || !isSeconds(r["duration_s"]) {
			t.Errorf("request log line = %v, want GET %s %v with a duration in seconds", r, w.path, w.status)
		}
	}

	log := e.logs.String()
	for _, secret := range []string{jwtSecret, token, "query-secret", "page_size", "Authorization"} {
		if strings.Contains(log, secret) {
			t.Errorf("log contains %q:\n%s", secret, log)
		}
	}
}
