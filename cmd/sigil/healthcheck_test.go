package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(srv.Config.Handler)
	defer tlsSrv.Close()

	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		mentions string
	}{
		{"a healthy listener", []string{"--url", srv.URL + "/healthz"}, 0, "200 OK"},
		{"a listener that answers 503", []string{"--url", srv.URL + "/readyz"}, 1, "answered 503 Service Unavailable"},
		{"nothing listening", []string{"--url", "http://127.0.0.1:1/healthz", "--timeout", "2s"}, 1, "connect"},
		{"an https listener whose certificate is not trusted", []string{"--url", tlsSrv.URL + "/healthz"}, 1, "certificate"},
		{"an https listener, --insecure", []string{"--url", tlsSrv.URL + "/healthz", "--insecure"}, 0, "200 OK"},
		{"a stray argument", []string{"now"}, 2, `sigil: unexpected argument "now"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := cli(t, nil, append([]string{"healthcheck"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+errOut, tc.mentions) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, tc.code, tc.mentions)
			}
		})
	}
}
