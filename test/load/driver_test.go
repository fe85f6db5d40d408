package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// mtlsServer is an HTTPS server on loopback that requires a client
// certificate from the bench CA, as a TLS handshake with sigil's
// tls_client_auth needs one, and answers 200 on /ok, 404 on /missing and
// 500 on /broken. It counts the answers it gave and the connections it
// accepted.
type mtlsServer struct {
	*httptest.Server
	certs         *benchCerts
	served, conns atomic.Int64
}

func newMTLSServer(t *testing.T) *mtlsServer {
	t.Helper()
	certs, err := newBenchCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &mtlsServer{certs: certs}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.served.Add(1)
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte(`{"code":"AUS","name":"AUSTRALIA"}`))
		case "/broken":
			http.Error(w, "broken", http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	pair, err := tls.LoadX509KeyPair(certs.CertFile, certs.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	s.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: certs.roots}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// get is a GET of path on s presenting the client certificate.
func (s *mtlsServer) get(path string) request {
	return request{Method: http.MethodGet, URL: s.URL + path, TLS: s.certs.clientTLS(),
		Header: map[string]string{"Authorization": "Bearer token"}}
}

func TestDriverCountsEveryAnswerOfItsRequestsAndOnly2xxAsSuccess(t *testing.T) {
	s := newMTLSServer(t)
	res, err := drive{Workers: 4, Duration: time.Minute, MaxRequests: 200}.run(t.Context(), s.get("/ok"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 200 || res.OK() != 200 || res.Errors() != 0 || s.served.Load() != 200 {
		t.Errorf("answers %d, ok %d, errors %d, server served %d; want 200 ok of 200", res.Requests, res.OK(), res.Errors(), s.served.Load())
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.Duration <= 0 {
		t.Errorf("p50 %v, p99 %v, duration %v: want 0 < p50 <= p99 and a duration", res.P50, res.P99, res.Duration)
	}
	if !strings.HasPrefix(res.Conn, "TLS 1.3, ") {
		t.Errorf("connections %q, want the TLS 1.3 the server agreed on", res.Conn)
	}
	for _, path := range []string{"/missing", "/broken"} {
		res, err := drive{Workers: 2, Duration: time.Minute, MaxRequests: 50}.run(t.Context(), s.get(path))
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != 50 || res.OK() != 0 || res.StatusErrors != 50 {
			t.Errorf("%s: answers %d, ok %d, error answers %d; want 50 answers, every one an error", path, res.Requests, res.OK(), res.StatusErrors)
		}
	}
}

// wrk counts a 3xx as a success; the driver does not.
func TestDriverDoesNotCountARedirectAsASuccess(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotModified)
	}))
	defer srv.Close()
	res, err := drive{Workers: 1, Duration: time.Minute, MaxRequests: 10}.run(t.Context(), request{Method: http.MethodGet, URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 10 || res.OK() != 0 {
		t.Errorf("answers %d, ok %d; want 10 answers and no success", res.Requests, res.OK())
	}
}

func TestDriverKeepsOneConnectionPerWorkerAlive(t *testing.T) {
	s := newMTLSServer(t)
	res, err := drive{Workers: 8, Duration: time.Minute, MaxRequests: 400}.run(t.Context(), s.get("/ok"))
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() != 400 || s.conns.Load() > 8 {
		t.Errorf("%d answers over %d connections; want 400 over at most 8", res.OK(), s.conns.Load())
	}
}

func TestDriverGetsNoAnswerWithoutTheClientCertificate(t *testing.T) {
	s := newMTLSServer(t)
	r := s.get("/ok")
	r.TLS.Certificates = nil
	res, err := drive{Workers: 2, Duration: time.Minute, MaxRequests: 20}.run(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() != 0 || res.NoAnswer != 20 || s.served.Load() != 0 {
		t.Errorf("ok %d, without an answer %d, server served %d; want all 20 refused in the handshake", res.OK(), res.NoAnswer, s.served.Load())
	}
}

func TestDriverRunsForItsDurationWithoutACount(t *testing.T) {
	s := newMTLSServer(t)
	res, err := drive{Workers: 2, Duration: 300 * time.Millisecond}.run(t.Context(), s.get("/ok"))
	if err != nil {
		t.Fatal(err)
	}
	// A request cut off by the end is neither an answer nor an error.
	if res.OK() == 0 || res.Errors() != 0 || int64(res.Requests) > s.served.Load() {
		t.Errorf("ok %d, errors %d, server served %d; want answers and no error", res.OK(), res.Errors(), s.served.Load())
	}
}

// Cancelling the harness (an interrupt) ends a run at once, with the
// cancellation as its error, even while every request waits on the
// server.
func TestDriverStopsWhenItsContextIsCancelled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := drive{Workers: 2, Duration: time.Minute}.run(ctx, request{Method: http.MethodGet, URL: srv.URL})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("run ended with %v, want the cancellation", err)
	}
}

func TestDriverRefusesWhatItIsNotFor(t *testing.T) {
	ok := request{Method: http.MethodGet, URL: "https://127.0.0.1:1/"}
	for _, c := range []struct {
		why string
		d   drive
		r   request
	}{
		{"no workers", drive{Workers: 0, Duration: time.Second}, ok},
		{"too many workers", drive{Workers: maxWorkers + 1, Duration: time.Second}, ok},
		{"no time", drive{Workers: 1}, ok},
		{"too long", drive{Workers: 1, Duration: maxDriveTime + time.Second}, ok},
		{"not loopback", drive{Workers: 1, Duration: time.Second}, request{Method: http.MethodGet, URL: "https://192.0.2.1/"}},
		{"a name", drive{Workers: 1, Duration: time.Second}, request{Method: http.MethodGet, URL: "https://example.com/"}},
		{"not a request", drive{Workers: 1, Duration: time.Second}, request{Method: "GET /", URL: ok.URL}},
		{"a wrk script", drive{Workers: 1, Duration: time.Second}, request{Method: http.MethodGet, URL: ok.URL, Lua: "request = nil"}},
	} {
		if _, err := c.d.run(t.Context(), c.r); err == nil {
			t.Errorf("%s: the driver ran; want an error", c.why)
		}
	}
}
