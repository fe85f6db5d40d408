package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildSigil builds a static sigil binary from the module at root into
// dir, as `go tool task build` does.
func buildSigil(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "sigil")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/sigil")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build sigil: %w\n%s", err, out)
	}
	return bin, nil
}

// nodeConfig is what differs between the Sigil processes of one run.
type nodeConfig struct {
	Name         string // for messages and the Redis prefix
	KeyAlgorithm string // --key-algorithm
	RedisAddr    string
	RedisPrefix  string
	NoMetrics    bool // --admin-addr "": no management listener, nothing counted
	Tracing      bool // OTEL_EXPORTER_OTLP_ENDPOINT set, to a receiver of the harness's own
	// TLS, when set, serves both roles over TLS with client certificates
	// requested (--tls-client-auth request), from these certificates.
	TLS *benchCerts
}

// sigil is one running `sigil serve` with both roles.
type sigil struct {
	AuthURL     string // http://127.0.0.1:port/ms-auth-server, https with TLS
	ResourceURL string // http://127.0.0.1:port/ms-system
	HealthURL   string // the auth server's /healthz
	// TLS is the client's side of a sigil serving TLS: the CA, and the
	// certificate of the mTLS client (mtls.go); nil for plain HTTP.
	TLS *tls.Config
	// ceiling is the TLS ceiling's server beside a TLS sigil (mtls.go).
	ceiling *ceilingServer
	dir     string
	cmd     *exec.Cmd
	log     *bytes.Buffer
	exited  chan struct{}
	spans   *otlpSink // the receiver of a traced sigil's spans, or nil
}

// Pid is the process to sample CPU from: the sigil binary itself, not a
// wrapper.
func (s *sigil) Pid() int { return s.cmd.Process.Pid }

// startSigil runs `sigil serve` as a user would: both roles in one
// process, in a new working directory (so the embedded SQLite database
// sigil.db and its key-encryption key start empty), the demo clients on,
// opaque tokens in Redis, logging at warn so the request log does not
// cost time. It listens on free loopback ports and returns once both
// roles answer /readyz.
func startSigil(ctx context.Context, bin string, nc nodeConfig) (*sigil, error) {
	dir, err := os.MkdirTemp("", "sigil-bench-"+nc.Name+"-")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	auth := "127.0.0.1:" + strconv.Itoa(ports[0])
	resource := "127.0.0.1:" + strconv.Itoa(ports[1])
	// The management listener (metrics) is on, as by default.
	admin := "127.0.0.1:" + strconv.Itoa(ports[2])
	if nc.NoMetrics {
		admin = ""
	}
	scheme := "http://"
	if nc.TLS != nil {
		scheme = "https://"
	}
	s := &sigil{
		AuthURL:     scheme + auth + "/ms-auth-server",
		ResourceURL: scheme + resource + "/ms-system",
		HealthURL:   scheme + auth + "/healthz",
		dir:         dir,
		log:         &bytes.Buffer{},
		exited:      make(chan struct{}),
	}
	// The issuer names 127.0.0.1 rather than the default localhost, so the
	// resource role reaches the JWKS and introspection endpoints over
	// IPv4 loopback without a name lookup.
	s.cmd = exec.Command(bin, "serve",
		"--role", "all",
		"--auth-addr", auth,
		"--resource-addr", resource,
		"--admin-addr", admin,
		"--auth-issuer", s.AuthURL,
		"--key-algorithm", nc.KeyAlgorithm,
		"--demo-clients", "true",
		"--redis-addr", nc.RedisAddr,
		"--redis-prefix", nc.RedisPrefix,
		"--log-level", "warn",
		// The flood of the "under attack" rows names its addresses in
		// X-Forwarded-For, as through a proxy.
		"--trusted-proxies", "127.0.0.1/32",
	)
	if nc.TLS != nil {
		s.TLS = nc.TLS.clientTLS()
		// The resource role fetches the JWKS over TLS too: it trusts the
		// CA of the server certificate (outbound-ca-file).
		s.cmd.Args = append(s.cmd.Args,
			"--tls-cert-file", nc.TLS.CertFile, "--tls-key-file", nc.TLS.KeyFile,
			"--outbound-ca-file", nc.TLS.CAFile,
			"--tls-client-auth", "request", "--tls-client-ca-file", nc.TLS.CAFile)
	}
	s.cmd.Dir = dir
	s.cmd.Env = withoutSigilSettings(os.Environ())
	if nc.Tracing {
		if s.spans, err = startOTLPSink(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.cmd.Env = append(s.cmd.Env, "OTEL_EXPORTER_OTLP_ENDPOINT="+s.spans.URL)
	}
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		if s.spans != nil {
			s.spans.Close()
		}
		return nil, fmt.Errorf("start sigil: %w", err)
	}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	for _, u := range []string{scheme + auth + "/readyz", scheme + resource + "/readyz"} {
		if err := waitReady(ctx, request{Method: http.MethodGet, URL: u, TLS: s.TLS}, s.exited); err != nil {
			s.stop()
			return nil, fmt.Errorf("sigil (%s) did not start: %w\nits output:\n%s", nc.Name, err, s.log)
		}
	}
	return s, nil
}

// stop shuts sigil down gracefully (SIGTERM), kills it if that takes too
// long, and removes its working directory.
func (s *sigil) stop() {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	os.RemoveAll(s.dir)
	if s.spans != nil {
		s.spans.Close()
	}
	if s.ceiling != nil {
		s.ceiling.stop()
	}
}

// waitReady sends r until it is answered 200, the process exits, or a
// minute passes.
func waitReady(ctx context.Context, r request, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second, Transport: r.transport(1)}
	defer client.CloseIdleConnections()
	for {
		req, err := r.httpRequest(ctx)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("the process exited")
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w", r.URL, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePorts finds n distinct loopback ports nobody listens on. The
// listeners stay open until all are chosen, so no port is picked twice.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// withoutSigilSettings drops SIGIL_* and OTEL_* variables, so the caller's
// environment cannot change what is measured.
func withoutSigilSettings(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SIGIL_") && !strings.HasPrefix(kv, "OTEL_") {
			out = append(out, kv)
		}
	}
	return out
}
