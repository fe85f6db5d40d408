package e2e_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/test/testenv"
)

// TestTLS serves both roles over TLS, as two nodes, with a CA and
// certificates made in the test (no openssl): the seed flows work over
// HTTPS, HTTP/2, with the resource node trusting the auth node's CA by
// outbound-ca-file; plain HTTP and old TLS are refused; a replaced
// certificate is served without a restart.
func TestTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	ca, dir := testenv.NewCA(t), t.TempDir()
	certFile, keyFile := ca.WriteCert(t, dir, "sigil-A")
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	withTLS := func(c *bootstrap.Config) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile }

	auth := startNode(t, func(c *bootstrap.Config) { withTLS(c); c.Role = bootstrap.RoleAuth })
	res := startNode(t, func(c *bootstrap.Config) {
		withTLS(c)
		c.Role = bootstrap.RoleResource
		c.TLSMinVersion = tls.VersionTLS13
		c.OutboundCAFile = caFile
		c.ResourceIssuer = auth.Config.Issuer()
	})
	if want := "https://localhost:"; !strings.HasPrefix(auth.Config.Issuer(), want) || !strings.HasPrefix(res.Config.JWKSURL(), want) {
		t.Fatalf("issuer %s, resource JWKS %s: want both under %s by default with TLS", auth.Config.Issuer(), res.Config.JWKSURL(), want)
	}
	if strings.Contains(auth.Logs.String(), "beyond loopback") {
		t.Errorf("an auth node on loopback warned of demo clients beyond loopback:\n%s", auth.Logs)
	}

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
	}}
	send := func(req *http.Request) response {
		t.Helper()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Proto != "HTTP/2.0" {
			t.Errorf("%s %s answered over %s, want HTTP/2.0", req.Method, req.URL, resp.Proto)
		}
		return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	}
	token := func(id, secret string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, auth.AuthURL+"/oauth2/token", strings.NewReader(url.Values{
			"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"country.read"},
		}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r := send(req)
		if r.Status != http.StatusOK {
			t.Fatalf("token for %s over TLS: %d %s", id, r.Status, r.Body)
		}
		return r.JSON(t)["access_token"].(string)
	}
	country := func(token string) response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, res.ResourceURL+"/country/code/AUS", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return send(req)
	}

	// The seed flows: a JWT verified with the JWKS fetched over HTTPS,
	// an opaque token introspected over HTTPS.
	jwt, opaque := token(jwtClient[0], jwtClient[1]), token(opaqueClient[0], opaqueClient[1])
	wantCountryAUS(t, country(jwt))
	wantCountryAUS(t, country(opaque))

	t.Run("plain HTTP to a TLS port is refused", func(t *testing.T) {
		for _, u := range []string{"http://" + auth.Config.AuthAddr + auth.Config.AuthBasePath + "/oauth2/jwks",
			"http://" + res.Config.ResourceAddr + res.Config.ResourceBasePath + "/country/code/AUS"} {
			// net/http answers 400 naming HTTPS and closes at once, so
			// the client may see the answer or a reset: either way, no
			// resource and no token.
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Authorization", "Bearer "+jwt)
			resp, err := httpClient.Do(req)
			if err != nil {
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), "AUSTRALIA") || strings.Contains(string(body), "keys") {
				t.Errorf("plain GET %s: %d %s, want 400", u, resp.StatusCode, body)
			}
		}
		// A plain request or a scanner is not the server's fault: the
		// failed handshake is logged, at debug level only.
		deadline := time.Now().Add(2 * time.Second)
		for !strings.Contains(auth.Logs.String(), "TLS handshake error") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if !strings.Contains(auth.Logs.String(), "TLS handshake error") {
			t.Error("the failed handshake of a plain request was not logged")
		}
		for _, line := range strings.Split(auth.Logs.String(), "\n") {
			if strings.Contains(line, "TLS handshake error") && !strings.Contains(line, "level=DEBUG") {
				t.Errorf("a failed handshake was logged above debug level: %s", line)
			}
		}
	})

	t.Run("old TLS is refused", func(t *testing.T) {
		dial := func(addr string, conf *tls.Config) error {
			conf.RootCAs, conf.ServerName = pool, "localhost"
			c, err := tls.Dial("tcp", addr, conf)
			if err == nil {
				c.Close()
			}
			return err
		}
		if err := dial(auth.Config.AuthAddr, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
			t.Error("a TLS 1.1 client was accepted")
		}
		if err := dial(auth.Config.AuthAddr, &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}); err == nil {
			t.Error("a TLS 1.2 client offering only a CBC suite was accepted")
		}
		if err := dial(auth.Config.AuthAddr, &tls.Config{MaxVersion: tls.VersionTLS12}); err != nil {
			t.Errorf("a TLS 1.2 client was refused by the default minimum: %v", err)
		}
		if err := dial(res.Config.ResourceAddr, &tls.Config{MaxVersion: tls.VersionTLS12}); err == nil {
			t.Error("a TLS 1.2 client was accepted with tls-min-version 1.3")
		}
	})

	t.Run("a replaced certificate is served without a restart", func(t *testing.T) {
		ca.WriteCert(t, dir, "sigil-B")
		served := func() string {
			c, err := tls.Dial("tcp", auth.Config.AuthAddr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
			if err != nil {
				t.Fatalf("dial after the replacement: %v", err)
			}
			defer c.Close()
			return c.ConnectionState().PeerCertificates[0].Subject.CommonName
		}
		deadline := time.Now().Add(10 * time.Second)
		for served() != "sigil-B" {
			if time.Now().After(deadline) {
				t.Fatalf("still serving the old certificate 10s after it was replaced")
			}
			time.Sleep(200 * time.Millisecond)
		}
		// The flows go on, the resource node's calls included.
		client.CloseIdleConnections()
		wantCountryAUS(t, country(token(opaqueClient[0], opaqueClient[1])))
	})
}

// TestResourceNodeWithoutTheCA: the auth node's certificate is from a CA
// the resource node does not trust without outbound-ca-file, so it cannot
// fetch the JWKS, and no JWT passes.
func TestResourceNodeWithoutTheCA(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	ca, dir := testenv.NewCA(t), t.TempDir()
	certFile, keyFile := ca.WriteCert(t, dir, "sigil")
	auth := startNode(t, func(c *bootstrap.Config) {
		c.Role, c.TLSCertFile, c.TLSKeyFile = bootstrap.RoleAuth, certFile, keyFile
	})
	res := startNode(t, func(c *bootstrap.Config) {
		c.Role = bootstrap.RoleResource
		c.ResourceIssuer = auth.Config.Issuer()
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.PostForm(auth.AuthURL+"/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {jwtClient[0]}, "client_secret": {jwtClient[1]},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := response{Status: resp.StatusCode}
	r.Body, _ = io.ReadAll(resp.Body)
	if r.Status != http.StatusOK {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	if got := get(t, res.ResourceURL+"/country/code/AUS", r.JSON(t)["access_token"].(string)); got.Status == http.StatusOK {
		t.Errorf("a resource node that does not trust the auth node's CA accepted a JWT: %d %s", got.Status, got.Body)
	}
}

// TestDemoClientsBeyondLoopbackWarn: demo clients with published secrets
// on every interface get one warning at start.
func TestDemoClientsBeyondLoopbackWarn(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	n := startNode(t, func(c *bootstrap.Config) {
		c.Role = bootstrap.RoleAuth
		c.AuthAddr = ":" + strings.TrimPrefix(c.AuthAddr, "127.0.0.1:")
	})
	if got := strings.Count(n.Logs.String(), "demo clients are reachable beyond loopback"); got != 1 {
		t.Errorf("warned %d times, want once:\n%s", got, n.Logs)
	}
}
