package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// What sigil checks of the certificates, with tls_client_auth against
// tls-client-ca-file and the server name 127.0.0.1: the client's chains
// to the CA for client authentication and names the registered subject,
// the server's chains for 127.0.0.1.
func TestBenchCertificatesAreWhatSigilAndItsClientCheck(t *testing.T) {
	certs, err := newBenchCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pemCA, err := os.ReadFile(certs.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemCA) {
		t.Fatal("the CA file holds no certificate")
	}
	leaf := certs.client.Leaf
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	c := mtlsClient()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !(domain.ClientCertificate{SubjectDN: leaf.Subject.String()}).Matches(c.TLSSubject) {
		t.Errorf("certificate subject %q does not name the client's %+v", leaf.Subject, c.TLSSubject)
	}
	pair, err := tls.LoadX509KeyPair(certs.CertFile, certs.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	server, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("server certificate: %v", err)
	}
}

func TestCheckBoundWantsTheCertificatesThumbprint(t *testing.T) {
	certs, err := newBenchCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	jwt := func(claims any) string {
		raw, _ := json.Marshal(claims)
		return "e30." + base64.RawURLEncoding.EncodeToString(raw) + ".c2ln"
	}
	sum := sha256.Sum256(certs.client.Certificate[0])
	x5t := base64.RawURLEncoding.EncodeToString(sum[:])
	if err := checkBound(jwt(map[string]any{"cnf": map[string]string{"x5t#S256": x5t}}), certs.client); err != nil {
		t.Errorf("a token bound to the certificate: %v", err)
	}
	for _, token := range []string{
		jwt(map[string]any{"sub": "bench-mtls"}),
		jwt(map[string]any{"cnf": map[string]string{"jkt": x5t}}),
		jwt(map[string]any{"cnf": map[string]string{"x5t#S256": x5t[1:]}}),
		"opaque-token",
	} {
		if err := checkBound(token, certs.client); err == nil {
			t.Errorf("checkBound(%s) = nil, want an error", token)
		}
	}
}

// The ceiling gives back what sigil answered, byte for byte but for what
// net/http writes itself, over a TLS that asks for the client certificate
// and refuses to answer without one.
func TestTheCeilingGivesBackTheAnswerOnlyToAClientWithACertificate(t *testing.T) {
	certs, err := newBenchCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// sigil's answer, captured once as the harness does before the rows:
	// the Date and Content-Length net/http wrote are not kept.
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write([]byte(`{"code":"AUS","name":"AUSTRALIA"}`))
	}))
	defer origin.Close()
	a, err := capture(t.Context(), request{Method: http.MethodGet, URL: origin.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(a.Header)); strings.Join(got, ",") != "Content-Type,X-Content-Type-Options" {
		t.Fatalf("captured headers %v, want the handler's two", got)
	}

	pair, err := tls.LoadX509KeyPair(certs.CertFile, certs.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(ceilingHandler(a))
	srv.TLS = ceilingTLS(pair)
	srv.StartTLS()
	defer srv.Close()
	r := request{Method: http.MethodGet, URL: srv.URL + "/ms-system/country/code/AUS", TLS: certs.clientTLS()}

	resp, err := r.send(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != string(a.Body) || resp.ContentLength != int64(len(a.Body)) ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("with the certificate: %d %q, length %d, headers %v; want the captured answer", resp.StatusCode, body, resp.ContentLength, resp.Header)
	}
	// Keep-alive: the driver's answers come over one connection per worker.
	res, err := drive{Workers: 1, Duration: time.Minute, MaxRequests: 20}.run(t.Context(), r)
	if err != nil || res.OK() != 20 {
		t.Errorf("driver with the certificate: %d ok, %v; want 20", res.OK(), err)
	}

	r.TLS.Certificates = nil
	res, err = drive{Workers: 1, Duration: time.Minute, MaxRequests: 20}.run(t.Context(), r)
	if err != nil || res.OK() != 0 || res.StatusErrors != 20 {
		t.Errorf("driver without a certificate: %d ok, %d error answers, %v; want 20 refused", res.OK(), res.StatusErrors, err)
	}
}

// The ceiling's request is the row's, sent elsewhere: the same method,
// path, headers (the bound token) and TLS.
func TestTheCeilingsRequestIsTheRowsAtAnotherAddress(t *testing.T) {
	conf := &tls.Config{}
	s := &sigil{ResourceURL: "https://127.0.0.1:1001/ms-system", TLS: conf, ceiling: &ceilingServer{URL: "https://127.0.0.1:1002"}}
	tk := tokens{MTLS: "bound-token"}
	row, ref := mtlsResourceRequest(s, tk), tlsCeilingRequest(s, tk)
	if row.URL != "https://127.0.0.1:1001/ms-system/country/code/AUS" || ref.URL != "https://127.0.0.1:1002/ms-system/country/code/AUS" {
		t.Errorf("row %s, ceiling %s", row.URL, ref.URL)
	}
	if row.Method != ref.Method || !maps.Equal(row.Header, ref.Header) || row.Header["Authorization"] != "Bearer bound-token" ||
		row.TLS != conf || ref.TLS != conf {
		t.Errorf("row %+v and ceiling %+v differ in more than the address", row, ref)
	}
}

// TestMain lets the test binary serve as the ceiling's server, as the
// harness's binary does, for TestTheCeilingServerRunsAsAProcessOfItsOwn.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ceilingCommand {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestTheCeilingServerRunsAsAProcessOfItsOwn(t *testing.T) {
	dir := t.TempDir()
	certs, err := newBenchCerts(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"code":"AUS"}`)}
	c, err := startCeiling(certs, a, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Pid() == os.Getpid() {
		t.Error("the ceiling runs in the test's process")
	}
	r := request{Method: http.MethodGet, URL: c.URL + "/ms-system/country/code/AUS", TLS: certs.clientTLS()}
	got, err := capture(t.Context(), r)
	if err != nil || got.Status != a.Status || string(got.Body) != string(a.Body) || got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("ceiling answered %+v, %v; want %+v", got, err, a)
	}
	c.stop()
	if _, err := r.send(t.Context()); err == nil {
		t.Error("the ceiling still answers after stop")
	}
}
