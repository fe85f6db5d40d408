package certfile_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/certfile"
	"github.com/sigilauth/sigil/test/testenv"
)

// clock is a settable time for the reloader's checks.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// served makes a TLS handshake with a server using r, as a client
// trusting ca would, and returns the common name of the certificate the
// server sent.
func served(t *testing.T, r *certfile.Reloader, ca *testenv.CA) string {
	t.Helper()
	srvConn, cliConn := net.Pipe()
	defer srvConn.Close()
	defer cliConn.Close()
	srv := tls.Server(srvConn, &tls.Config{GetCertificate: r.GetCertificate})
	go func() { _ = srv.Handshake() }()
	roots := x509Pool(t, ca)
	cli := tls.Client(cliConn, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err := cli.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return cli.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func newReloader(t *testing.T, certFile, keyFile string, log *bytes.Buffer, c *clock) *certfile.Reloader {
	t.Helper()
	r, err := certfile.New(certFile, keyFile, certfile.Options{
		CheckEvery: 2 * time.Second,
		Logger:     slog.New(slog.NewTextHandler(log, nil)),
		Now:        c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestANewHandshakeSeesTheReplacedCertificate(t *testing.T) {
	ca, dir := testenv.NewCA(t), t.TempDir()
	certFile, keyFile := ca.WriteCert(t, dir, "cert-A")
	var log bytes.Buffer
	c := &clock{now: time.Now()}
	r := newReloader(t, certFile, keyFile, &log, c)
	if got := served(t, r, ca); got != "cert-A" {
		t.Fatalf("served %q, want cert-A", got)
	}

	ca.WriteCert(t, dir, "cert-B")
	c.Add(time.Second)
	if got := served(t, r, ca); got != "cert-A" {
		t.Errorf("within the check period served %q, want cert-A still: the files are looked at once per period", got)
	}
	c.Add(time.Second)
	if got := served(t, r, ca); got != "cert-B" {
		t.Errorf("after the check period served %q, want cert-B", got)
	}
	if !strings.Contains(log.String(), "tls certificate reloaded") {
		t.Errorf("log lacks the reload:\n%s", &log)
	}
}

func TestABrokenFileKeepsTheLastGoodPairAndWarnsOnce(t *testing.T) {
	ca, dir := testenv.NewCA(t), t.TempDir()
	certFile, keyFile := ca.WriteCert(t, dir, "cert-A")
	var log bytes.Buffer
	c := &clock{now: time.Now()}
	r := newReloader(t, certFile, keyFile, &log, c)

	// Half-written certificate: a truncated PEM.
	good, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	testenv.WriteNewer(t, certFile, good[:len(good)/2])
	for range 3 {
		c.Add(3 * time.Second)
		if got := served(t, r, ca); got != "cert-A" {
			t.Fatalf("with a broken file served %q, want cert-A", got)
		}
	}
	if n := strings.Count(log.String(), "tls certificate not reloaded"); n != 1 {
		t.Errorf("warned %d times about one broken file, want once:\n%s", n, &log)
	}

	// A key of another pair: the files do not match.
	_, otherKey := ca.Issue(t, "other")
	testenv.WriteNewer(t, certFile, good)
	testenv.WriteNewer(t, keyFile, otherKey)
	c.Add(3 * time.Second)
	if got := served(t, r, ca); got != "cert-A" {
		t.Fatalf("with a mismatched key served %q, want cert-A", got)
	}
	if n := strings.Count(log.String(), "tls certificate not reloaded"); n != 2 {
		t.Errorf("warned %d times after a second, different failure, want twice:\n%s", n, &log)
	}

	// Once the files are whole again, they are served.
	ca.WriteCert(t, dir, "cert-B")
	c.Add(3 * time.Second)
	if got := served(t, r, ca); got != "cert-B" {
		t.Errorf("after the files were repaired served %q, want cert-B", got)
	}
}

func TestNewRefusesFilesThatDoNotServe(t *testing.T) {
	ca, dir := testenv.NewCA(t), t.TempDir()
	certFile, keyFile := ca.WriteCert(t, dir, "cert-A")
	_, otherKey := ca.Issue(t, "other")
	otherKeyFile := dir + "/other.pem"
	testenv.WriteNewer(t, otherKeyFile, otherKey)
	for name, files := range map[string][2]string{
		"missing certificate": {dir + "/nope.pem", keyFile},
		"missing key":         {certFile, dir + "/nope.pem"},
		"key of another pair": {certFile, otherKeyFile},
		"key as certificate":  {keyFile, keyFile},
	} {
		if _, err := certfile.New(files[0], files[1], certfile.Options{}); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", name, err)
		}
	}
}

func x509Pool(t *testing.T, ca *testenv.CA) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.PEM) {
		t.Fatal("CA PEM holds no certificate")
	}
	return pool
}
