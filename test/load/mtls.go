package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// The mutual-TLS rows (issue 12, RFC 8705): a sigil serving both roles
// over TLS with client certificates requested, a tls_client_auth client
// whose JWT is bound to its certificate (cnf x5t#S256), and the country
// lookup sent with that token over connections presenting that
// certificate. wrk presents no client certificate, so these rows are
// loaded by the Go driver (driver.go), and the row is compared with what
// the same driver gets from a minimal Go HTTPS server on the same cores:
// the same TLS (certificate, client certificate asked for and presented,
// version and cipher suite, keep-alive), the same request, and the very
// answer sigil gave, written back with no work. GET /healthz of the same
// sigil over the same TLS is measured too, so that the row can be read
// against the plain ceiling's kind of reference as well.
const (
	mtlsRow        = "resource GET, mTLS-bound token"
	tlsCeiling     = "HTTP ceiling over TLS: minimal Go HTTPS server"
	tlsHealthzRow  = "GET /healthz over TLS (mTLS sigil)"
	mtlsClientID   = "bench-mtls"
	ceilingCommand = "tls-ceiling" // the harness's own command that serves the ceiling
)

// mtlsSubject is the subject DN the client registers and its
// certificate names (tls_client_auth_subject_dn, RFC 8705 §2.1.2).
var mtlsSubject = pkix.Name{CommonName: mtlsClientID, Organization: []string{"Sigil Bench"}}

// benchCerts are the certificates of a TLS node, made for the run: one CA
// that issued the server's certificate (127.0.0.1, localhost) and the
// client's.
type benchCerts struct {
	CAFile, CertFile, KeyFile string
	roots                     *x509.CertPool
	client                    tls.Certificate
}

// newBenchCerts makes the CA and both certificates, ECDSA P-256, valid
// for a day, and writes the CA, the server certificate and its key to
// dir.
func newBenchCerts(dir string) (*benchCerts, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sigil-bench CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("bench CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	issue := func(serial int64, tmpl x509.Certificate) (tls.Certificate, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return tls.Certificate{}, err
		}
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = caTmpl.NotBefore, caTmpl.NotAfter
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("bench certificate: %w", err)
		}
		leaf, err := x509.ParseCertificate(der)
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, err
	}
	server, err := issue(2, x509.Certificate{
		Subject: pkix.Name{CommonName: "sigil-bench"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return nil, err
	}
	client, err := issue(3, x509.Certificate{Subject: mtlsSubject, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(server.PrivateKey)
	if err != nil {
		return nil, err
	}
	c := &benchCerts{
		CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server.key"),
		roots: x509.NewCertPool(), client: client,
	}
	c.roots.AddCert(ca)
	for path, block := range map[string]*pem.Block{
		c.CAFile:   {Type: "CERTIFICATE", Bytes: caDER},
		c.CertFile: {Type: "CERTIFICATE", Bytes: server.Certificate[0]},
		c.KeyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// clientTLS is the client's side: it trusts the CA and presents its
// certificate when asked.
func (c *benchCerts) clientTLS() *tls.Config {
	return &tls.Config{RootCAs: c.roots, Certificates: []tls.Certificate{c.client}}
}

// mtlsClient is the tls_client_auth client of the rows: a JWT of
// country.read, as the demo JWT client gets (RFC 8705 §2.1).
func mtlsClient() domain.Client {
	scopes := domain.NewScopes("country.read")
	return domain.Client{
		ID:            mtlsClientID,
		AuthMethods:   []domain.AuthMethod{domain.AuthTLSClientAuth},
		GrantTypes:    []domain.GrantType{domain.GrantClientCredentials},
		AllowedScopes: scopes,
		DefaultScopes: scopes,
		TokenFormat:   domain.FormatJWT,
		TokenLifetime: 4 * time.Hour,
		TLSSubject:    domain.TLSSubject{Kind: domain.TLSSubjectDN, Value: mtlsSubject.String()},
	}
}

// registerMTLSClient writes the client into the running sigil's SQLite
// database through the store adapter, as registerClients does.
func registerMTLSClient(ctx context.Context, s *sigil) error {
	c := mtlsClient()
	if err := c.Validate(); err != nil {
		return fmt.Errorf("mTLS client: %w", err)
	}
	db, err := gormstore.Open(gormstore.DriverSQLite, filepath.Join(s.dir, "sigil.db"), nil)
	if err != nil {
		return err
	}
	defer closeDB(db)
	if err := gormstore.NewClients(db).SaveClient(ctx, c); err != nil {
		return fmt.Errorf("register the mTLS client: %w", err)
	}
	return nil
}

// mtlsTokenRequest is the client's token request: its id in the form and
// its certificate on the connection, no secret (RFC 8705 §2).
func mtlsTokenRequest(s *sigil) request {
	return request{Method: http.MethodPost, URL: s.AuthURL + "/oauth2/token", TLS: s.TLS,
		Body: "grant_type=client_credentials&client_id=" + mtlsClientID}
}

// mtlsResourceRequest is the country lookup with the bound token, over
// connections presenting the certificate.
func mtlsResourceRequest(s *sigil, t tokens) request {
	r := resourceRequest(s, t.MTLS)
	r.TLS = s.TLS
	return r
}

// tlsCeilingRequest is the same request sent to the ceiling's server:
// only the address differs.
func tlsCeilingRequest(s *sigil, t tokens) request {
	r := mtlsResourceRequest(s, t)
	u, _ := url.Parse(r.URL)
	u.Host = strings.TrimPrefix(s.ceiling.URL, "https://")
	r.URL = u.String()
	return r
}

// tlsHealthzRequest is healthRequest over the TLS sigil's connections.
func tlsHealthzRequest(s *sigil, t tokens) request {
	r := healthRequest(s, t)
	r.TLS = s.TLS
	return r
}

// checkBound fails unless token is a JWT bound to cert: cnf x5t#S256,
// the SHA-256 of its DER (RFC 8705 §3.1).
func checkBound(token string, cert tls.Certificate) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("the mTLS token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("the mTLS token's claims: %w", err)
	}
	var claims struct {
		Cnf map[string]string `json:"cnf"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return fmt.Errorf("the mTLS token's claims: %w", err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); claims.Cnf["x5t#S256"] != want {
		return fmt.Errorf("the mTLS token's cnf is %v, want x5t#S256 %s", claims.Cnf, want)
	}
	return nil
}

// answer is what sigil answered the row's request, for the ceiling's
// server to give back.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// capture sends r once and keeps its 2xx answer, without the headers
// net/http writes itself or that belong to the connection.
func capture(ctx context.Context, r request) (answer, error) {
	resp, err := r.send(ctx)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", r.Method, r.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", r.Method, r.URL, err)
	}
	if resp.StatusCode/100 != 2 {
		return answer{}, fmt.Errorf("%s %s: %d %s", r.Method, r.URL, resp.StatusCode, bytes.TrimSpace(body))
	}
	h := resp.Header.Clone()
	for _, k := range []string{"Date", "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding"} {
		h.Del(k)
	}
	return answer{Status: resp.StatusCode, Header: h, Body: body}, nil
}

// ceilingHandler gives back a to every request made over a connection
// that presented a client certificate, and 401 to any other: so the
// ceiling cannot be measured without the handshake the row pays.
func ceilingHandler(a answer) http.Handler {
	length := fmt.Sprint(len(a.Body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "no client certificate", http.StatusUnauthorized)
			return
		}
		h := w.Header()
		for k, v := range a.Header {
			h[k] = v
		}
		h["Content-Length"] = []string{length}
		w.WriteHeader(a.Status)
		w.Write(a.Body)
	})
}

// ceilingTLS is the ceiling server's TLS as sigil's listeners have it
// with tls-client-auth request (bootstrap.publicTLS): TLS 1.2 at least,
// a client certificate asked for, no chain checked in the handshake.
func ceilingTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, ClientAuth: tls.RequestClientCert}
}

// serveCeiling is the harness's ceiling command: `load tls-ceiling
// -cert F -key F -answer F [-for D]` serves ceilingHandler over
// ceilingTLS on a free loopback port, prints "listening ADDRESS", and
// ends after -for (or when it is signalled). It is a process of its own,
// as sigil is, so that its CPU is counted apart from the driver's, and
// its garbage collector is tuned as sigil's (bootstrap.TuneGC): at Go's
// default it spent more CPU per answer than sigil's /healthz.
func serveCeiling(args []string) error {
	bootstrap.TuneGC(os.LookupEnv)
	fs := flag.NewFlagSet(ceilingCommand, flag.ContinueOnError)
	certFile := fs.String("cert", "", "PEM certificate")
	keyFile := fs.String("key", "", "PEM key")
	answerFile := fs.String("answer", "", "JSON of the answer to give")
	lifetime := fs.Duration("for", 10*time.Minute, "how long to serve")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(*answerFile)
	if err != nil {
		return err
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return fmt.Errorf("%s: %w", *answerFile, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: ceilingHandler(a), TLSConfig: ceilingTLS(cert), ReadHeaderTimeout: 10 * time.Second,
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	time.AfterFunc(*lifetime, func() { srv.Close() })
	fmt.Printf("listening %s\n", ln.Addr())
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ceilingServer is a running tls-ceiling command.
type ceilingServer struct {
	URL    string // https://127.0.0.1:port
	cmd    *exec.Cmd
	exited chan struct{}
}

// ceilingLifetime bounds the ceiling server's life, should the harness
// not stop it: the mTLS node's rows take well under a minute.
const ceilingLifetime = 10 * time.Minute

// startCeiling runs this program's tls-ceiling command with the server
// certificate of certs and a, in dir.
func startCeiling(certs *benchCerts, a answer, dir string) (*ceilingServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "answer.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, ceilingCommand, "-cert", certs.CertFile, "-key", certs.KeyFile,
		"-answer", file, "-for", ceilingLifetime.String())
	cmd.Env = withoutSigilSettings(os.Environ())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the TLS ceiling's server: %w", err)
	}
	c := &ceilingServer{cmd: cmd, exited: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, out)
		cmd.Wait()
		close(c.exited)
	}()
	select {
	case line := <-lines:
		if addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening "); ok {
			c.URL = "https://" + addr
			return c, nil
		}
	case <-time.After(30 * time.Second):
	}
	c.stop()
	return nil, fmt.Errorf("the TLS ceiling's server did not start: %s", bytes.TrimSpace(stderr.Bytes()))
}

// Pid is the ceiling server's process.
func (c *ceilingServer) Pid() int { return c.cmd.Process.Pid }

// stop ends the ceiling server.
func (c *ceilingServer) stop() {
	c.cmd.Process.Kill()
	<-c.exited
}

// prepareMTLS registers the client, fetches its bound token, keeps the
// answer of the row's request and starts the ceiling's server with it.
func prepareMTLS(ctx context.Context, s *sigil, certs *benchCerts, dir string) (tokens, error) {
	if err := registerMTLSClient(ctx, s); err != nil {
		return tokens{}, err
	}
	token, err := fetchToken(ctx, mtlsTokenRequest(s))
	if err != nil {
		return tokens{}, err
	}
	if err := checkBound(token, certs.client); err != nil {
		return tokens{}, err
	}
	t := tokens{MTLS: token}
	a, err := capture(ctx, mtlsResourceRequest(s, t))
	if err != nil {
		return tokens{}, err
	}
	if s.ceiling, err = startCeiling(certs, a, dir); err != nil {
		return tokens{}, err
	}
	return t, nil
}

// runMTLSNode starts the TLS sigil, prepares the rows (prepareMTLS) and
// measures the references, then the row, each with the Go driver. The
// ceiling's CPU is its server's; the others', sigil's.
func runMTLSNode(ctx context.Context, o options, bin, wrk string, nc nodeConfig, todo []scenario, result func(string) *row) {
	fail := func(err error) {
		logf("%v", err)
		for _, sc := range todo {
			record(result(sc.Name), measurement{}, err)
		}
	}
	dir, err := os.MkdirTemp("", "sigil-bench-mtls-")
	if err != nil {
		fail(err)
		return
	}
	defer os.RemoveAll(dir)
	if nc.TLS, err = newBenchCerts(dir); err != nil {
		fail(err)
		return
	}
	logf("starting sigil over TLS, client certificates requested")
	s, err := startSigil(ctx, bin, nc)
	if err != nil {
		logf("%v", err)
		fail(errors.New("sigil over TLS did not start"))
		return
	}
	defer s.stop()
	t, err := prepareMTLS(ctx, s, nc.TLS, dir)
	if err != nil {
		fail(err)
		return
	}
	isRow := func(sc scenario) int {
		if sc.Reference == "" {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(todo, func(a, b scenario) int { return cmp.Compare(isRow(a), isRow(b)) })
	for _, sc := range todo {
		pid := s.Pid()
		if sc.Name == tlsCeiling {
			pid = s.ceiling.Pid()
		}
		logf("%s: %s warm-up, %s measured, %d connections of the Go driver", sc.Name, o.Warmup, o.Duration, o.Load.Connections)
		m, err := runScenario(ctx, o, wrk, sc.Request(s, t), pid)
		record(result(sc.Name), m, err)
	}
}
