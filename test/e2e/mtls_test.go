package e2e_test

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// mtlsSetup is a node serving both roles over TLS with client
// certificates requested, the clients of RFC 8705's methods, and the
// certificates they hold.
type mtlsSetup struct {
	node             *node
	serverCA, certCA *testenv.CA
	dir              string
	// dnCert names CN=mtls-dn,O=Sigil Test; sanCert the URI SAN of
	// mtls-san; selfCert is self-signed, its key in mtls-self's JWKS;
	// otherCert is from the CA but names no registered client.
	dnCert, sanCert, selfCert, otherCert tls.Certificate
}

const sanURI = "spiffe://sigil.test/billing"

// mtlsClients are the RFC 8705 clients every mTLS test node registers.
func mtlsClients(t *testing.T, selfCert tls.Certificate) []application.RegisterClientInput {
	t.Helper()
	dn := clientOf("mtls-dn", domain.AuthTLSClientAuth)
	dn.TLSSubject = domain.TLSSubject{Kind: domain.TLSSubjectDN, Value: "CN=mtls-dn,O=Sigil Test"}
	san := clientOf("mtls-san", domain.AuthTLSClientAuth)
	san.TLSSubject = domain.TLSSubject{Kind: domain.TLSSubjectSANURI, Value: sanURI}
	san.TokenFormat = domain.FormatOpaque
	self := clientOf("mtls-self", domain.AuthSelfSignedTLSClientAuth)
	jwks, err := json.Marshal(map[string]any{"keys": []any{testenv.PublicJWK(selfCert)}})
	if err != nil {
		t.Fatal(err)
	}
	self.JWKS = string(jwks)
	bound := clientOf("bound-secret", domain.AuthClientSecretPost)
	bound.CertBound = true
	return []application.RegisterClientInput{{Client: dn}, {Client: san}, {Client: self},
		{Client: bound, Secrets: []application.SecretSpec{{ID: "s1", Secret: "bound-secret-secret"}}}}
}

func startMTLS(t *testing.T) *mtlsSetup {
	t.Helper()
	return startMTLSWith(t, nil)
}

// startMTLSWith is startMTLS with change applied to the node's settings.
func startMTLSWith(t *testing.T, change func(c *bootstrap.Config)) *mtlsSetup {
	t.Helper()
	s := &mtlsSetup{serverCA: testenv.NewCA(t), certCA: testenv.NewCA(t), dir: t.TempDir()}
	certFile, keyFile := s.serverCA.WriteCert(t, s.dir, "sigil")
	serverCAFile, clientCAFile := filepath.Join(s.dir, "server-ca.pem"), filepath.Join(s.dir, "client-ca.pem")
	writeFile(t, serverCAFile, s.serverCA.PEM)
	writeFile(t, clientCAFile, s.certCA.PEM)
	s.dnCert = s.certCA.IssueClientSpec(t, testenv.ClientCertSpec{Subject: pkix.Name{CommonName: "mtls-dn", Organization: []string{"Sigil Test"}}})
	s.sanCert = s.certCA.IssueClientSpec(t, testenv.ClientCertSpec{Subject: pkix.Name{CommonName: "billing"}, URIs: []*url.URL{mustURL(t, sanURI)}})
	s.selfCert = testenv.SelfSignedClient(t, testenv.ClientCertSpec{Subject: pkix.Name{CommonName: "mtls-self"}})
	s.otherCert = s.certCA.IssueClientSpec(t, testenv.ClientCertSpec{Subject: pkix.Name{CommonName: "somebody-else"}})
	s.node = startNode(t, func(c *bootstrap.Config) {
		c.TLSCertFile, c.TLSKeyFile = certFile, keyFile
		c.OutboundCAFile = serverCAFile
		c.TLSClientAuth = "request"
		c.TLSClientCAFile = clientCAFile
		if change != nil {
			change(c)
		}
	})
	s.node.register(t, mtlsClients(t, s.selfCert)...)
	return s
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// client is an HTTPS client trusting the server's CA and presenting
// cert, or no certificate for nil.
func (s *mtlsSetup) client(cert *tls.Certificate) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.serverCA.PEM)
	conf := &tls.Config{RootCAs: pool}
	if cert != nil {
		conf.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}}
}

func send(t *testing.T, hc *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: []byte(b.String())}
}

// tokenRequest asks authURL for a token as client id, presenting cert
// (none for nil), with the extra form fields.
func tokenRequest(t *testing.T, hc *http.Client, authURL, id string, extra url.Values) response {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}}
	for k, v := range extra {
		form[k] = v
	}
	req, _ := http.NewRequest(http.MethodPost, authURL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, hc, req)
}

func resourceGet(t *testing.T, hc *http.Client, resourceURL, token string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, resourceURL+"/country/code/AUS", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return send(t, hc, req)
}

func x5t(c tls.Certificate) string {
	sum := sha256.Sum256(c.Certificate[0])
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func wantError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.Status != status || !strings.Contains(string(r.Body)+r.Header.Get("WWW-Authenticate"), code) {
		t.Fatalf("got %d %s (WWW-Authenticate %q), want %d %s", r.Status, r.Body, r.Header.Get("WWW-Authenticate"), status, code)
	}
}

// TestMutualTLS: RFC 8705 over real TLS. tls_client_auth by subject DN
// and by SAN, self_signed_tls_client_auth, certificate-bound JWT and
// opaque tokens, each accepted at the resource server with the same
// certificate only, and the refusals of wrong or missing certificates.
func TestMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	s := startMTLS(t)
	n := s.node
	dn, san, self, other, none := s.client(&s.dnCert), s.client(&s.sanCert), s.client(&s.selfCert), s.client(&s.otherCert), s.client(nil)

	t.Run("metadata", func(t *testing.T) {
		r := send(t, none, mustGet(t, n.AuthURL+"/.well-known/oauth-authorization-server"))
		m := r.JSON(t)
		if m["tls_client_certificate_bound_access_tokens"] != true {
			t.Errorf("metadata lacks tls_client_certificate_bound_access_tokens: %s", r.Body)
		}
		methods, _ := json.Marshal(m["token_endpoint_auth_methods_supported"])
		for _, want := range []string{"tls_client_auth", "self_signed_tls_client_auth", "client_secret_basic"} {
			if !strings.Contains(string(methods), `"`+want+`"`) {
				t.Errorf("token_endpoint_auth_methods_supported %s lacks %s", methods, want)
			}
		}
	})

	t.Run("tls_client_auth by subject DN: a JWT bound to the certificate", func(t *testing.T) {
		r := tokenRequest(t, dn, n.AuthURL, "mtls-dn", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		tok := r.JSON(t)
		if tok["token_type"] != "Bearer" {
			t.Errorf("token_type %v, want Bearer (RFC 8705 keeps the type)", tok["token_type"])
		}
		jwt := tok["access_token"].(string)
		cnf, _ := claimsOf(t, jwt)["cnf"].(map[string]any)
		if cnf["x5t#S256"] != x5t(s.dnCert) {
			t.Fatalf("cnf %v, want x5t#S256 %s", cnf, x5t(s.dnCert))
		}
		wantCountryAUS(t, resourceGet(t, dn, n.ResourceURL, jwt))
		wantError(t, resourceGet(t, other, n.ResourceURL, jwt), http.StatusUnauthorized, "invalid_token")
		wantError(t, resourceGet(t, none, n.ResourceURL, jwt), http.StatusUnauthorized, "invalid_token")
	})

	t.Run("tls_client_auth by SAN URI: an opaque token bound to the certificate", func(t *testing.T) {
		r := tokenRequest(t, san, n.AuthURL, "mtls-san", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		opaque := r.JSON(t)["access_token"].(string)
		if strings.Count(opaque, ".") == 2 {
			t.Fatalf("mtls-san got a JWT, want an opaque token")
		}
		wantCountryAUS(t, resourceGet(t, san, n.ResourceURL, opaque))
		wantError(t, resourceGet(t, dn, n.ResourceURL, opaque), http.StatusUnauthorized, "invalid_token")
		wantError(t, resourceGet(t, none, n.ResourceURL, opaque), http.StatusUnauthorized, "invalid_token")
		// Introspection tells the binding (RFC 8705 §3.2).
		ir := tokenIntrospect(t, none, n.AuthURL, opaque)
		cnf, _ := ir.JSON(t)["cnf"].(map[string]any)
		if cnf["x5t#S256"] != x5t(s.sanCert) {
			t.Errorf("introspection %s, want cnf x5t#S256 %s", ir.Body, x5t(s.sanCert))
		}
	})

	t.Run("self_signed_tls_client_auth: the key is in the client's JWKS", func(t *testing.T) {
		r := tokenRequest(t, self, n.AuthURL, "mtls-self", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		wantCountryAUS(t, resourceGet(t, self, n.ResourceURL, r.JSON(t)["access_token"].(string)))
		// Another self-signed certificate, even naming the same subject,
		// has another key.
		imposter := testenv.SelfSignedClient(t, testenv.ClientCertSpec{Subject: pkix.Name{CommonName: "mtls-self"}})
		wantError(t, tokenRequest(t, s.client(&imposter), n.AuthURL, "mtls-self", nil), http.StatusUnauthorized, "invalid_client")
	})

	t.Run("wrong or missing certificates at the token endpoint are invalid_client", func(t *testing.T) {
		// A CA certificate naming someone else, no certificate, and a
		// self-signed one naming the registered DN (no chain to the CA).
		forged := testenv.SelfSignedClient(t, testenv.ClientCertSpec{Subject: pkix.Name{CommonName: "mtls-dn", Organization: []string{"Sigil Test"}}})
		for name, hc := range map[string]*http.Client{"another subject": other, "none": none, "self-signed with the DN": s.client(&forged), "the SAN client's": san} {
			r := tokenRequest(t, hc, n.AuthURL, "mtls-dn", nil)
			if r.Status != http.StatusUnauthorized || r.JSON(t)["error"] != "invalid_client" {
				t.Errorf("%s: %d %s, want 401 invalid_client", name, r.Status, r.Body)
			}
		}
	})

	t.Run("tls_client_certificate_bound_access_tokens binds a secret client's token", func(t *testing.T) {
		secret := url.Values{"client_secret": {"bound-secret-secret"}}
		r := tokenRequest(t, other, n.AuthURL, "bound-secret", secret)
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		jwt := r.JSON(t)["access_token"].(string)
		wantCountryAUS(t, resourceGet(t, other, n.ResourceURL, jwt))
		wantError(t, resourceGet(t, dn, n.ResourceURL, jwt), http.StatusUnauthorized, "invalid_token")
		// Without a certificate it gets no token at all.
		wantError(t, tokenRequest(t, none, n.AuthURL, "bound-secret", secret), http.StatusBadRequest, "invalid_request")
	})

	t.Run("clients without mTLS are unaffected", func(t *testing.T) {
		r := tokenRequest(t, other, n.AuthURL, jwtClient[0], url.Values{"client_secret": {jwtClient[1]}})
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		jwt := r.JSON(t)["access_token"].(string)
		if _, bound := claimsOf(t, jwt)["cnf"]; bound {
			t.Errorf("a secret client's token presented with a certificate was bound to it")
		}
		wantCountryAUS(t, resourceGet(t, none, n.ResourceURL, jwt))
	})

	t.Run("curl with --cert and --key", func(t *testing.T) {
		curl, err := exec.LookPath("curl")
		if err != nil {
			t.Skip("no curl")
		}
		certFile, keyFile, caFile := filepath.Join(s.dir, "dn.pem"), filepath.Join(s.dir, "dn.key"), filepath.Join(s.dir, "server-ca.pem")
		writeFile(t, certFile, testenv.CertPEM(s.dnCert))
		writeFile(t, keyFile, testenv.KeyPEM(t, s.dnCert))
		out, err := exec.Command(curl, "-sS", "--fail-with-body", "--cacert", caFile, "--cert", certFile, "--key", keyFile,
			"-d", "grant_type=client_credentials", "-d", "client_id=mtls-dn", n.AuthURL+"/oauth2/token").CombinedOutput()
		if err != nil {
			t.Fatalf("curl token: %v %s", err, out)
		}
		var tok map[string]any
		if err := json.Unmarshal(out, &tok); err != nil {
			t.Fatalf("curl token: %s", out)
		}
		jwt, _ := tok["access_token"].(string)
		out, err = exec.Command(curl, "-sS", "--fail-with-body", "--cacert", caFile, "--cert", certFile, "--key", keyFile,
			"-H", "Authorization: Bearer "+jwt, n.ResourceURL+"/country/code/AUS").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "AUSTRALIA") {
			t.Fatalf("curl resource: %v %s", err, out)
		}
		out, _ = exec.Command(curl, "-sS", "--cacert", caFile, "-H", "Authorization: Bearer "+jwt, n.ResourceURL+"/country/code/AUS").CombinedOutput()
		if !strings.Contains(string(out), "invalid_token") {
			t.Errorf("curl without the certificate: %s, want invalid_token", out)
		}
	})
}

func mustGet(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// tokenIntrospect introspects token as the demo introspecting client.
func tokenIntrospect(t *testing.T, hc *http.Client, authURL, token string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, authURL+"/oauth2/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(jwtClient[0], jwtClient[1])
	return send(t, hc, req)
}

// TestClientCertificateHeader: behind a TLS-terminating proxy, the
// certificate comes from client-cert-header, in Envoy's
// x-forwarded-client-cert form or as a URL-encoded PEM (nginx), and only
// from a trusted proxy: from any other address the header is ignored (and
// logged at debug level).
func TestClientCertificateHeader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	ca := testenv.NewCA(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "client-ca.pem")
	writeFile(t, caFile, ca.PEM)
	cert := ca.IssueClientSpec(t, testenv.ClientCertSpec{Subject: pkix.Name{CommonName: "mtls-dn", Organization: []string{"Sigil Test"}}})
	other := ca.IssueClientSpec(t, testenv.ClientCertSpec{Subject: pkix.Name{CommonName: "somebody-else"}})
	self := testenv.SelfSignedClient(t, testenv.ClientCertSpec{Subject: pkix.Name{CommonName: "mtls-self"}})
	behind := func(trusted string) *node {
		n := startNode(t, func(c *bootstrap.Config) {
			c.ClientCertHeader = "X-Forwarded-Client-Cert"
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix(trusted)}
			c.TLSClientCAFile = caFile
		})
		n.register(t, mtlsClients(t, self)...)
		return n
	}
	proxied, direct := behind("127.0.0.1/32"), behind("192.0.2.0/24")

	escaped := url.PathEscape(string(testenv.CertPEM(cert)))
	formats := map[string]string{
		"envoy": `By=spiffe://sigil.test/proxy;Hash=00;Cert="` + escaped + `";Subject="CN=mtls-dn,O=Sigil Test";URI=`,
		"nginx": escaped,
	}
	post := func(n *node, header string) response {
		req, _ := http.NewRequest(http.MethodPost, n.AuthURL+"/oauth2/token", strings.NewReader(url.Values{
			"grant_type": {"client_credentials"}, "client_id": {"mtls-dn"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Client-Cert", header)
		return do(t, req)
	}
	getWith := func(n *node, token, header string) response {
		req := mustGet(t, n.ResourceURL+"/country/code/AUS")
		req.Header.Set("Authorization", "Bearer "+token)
		if header != "" {
			req.Header.Set("X-Forwarded-Client-Cert", header)
		}
		return do(t, req)
	}
	for name, header := range formats {
		t.Run(name+" from a trusted proxy is honoured", func(t *testing.T) {
			r := post(proxied, header)
			if r.Status != http.StatusOK {
				t.Fatalf("token: %d %s", r.Status, r.Body)
			}
			jwt := r.JSON(t)["access_token"].(string)
			if cnf, _ := claimsOf(t, jwt)["cnf"].(map[string]any); cnf["x5t#S256"] != x5t(cert) {
				t.Errorf("cnf %v, want the forwarded certificate's x5t#S256", cnf)
			}
			wantCountryAUS(t, getWith(proxied, jwt, header))
			wantError(t, getWith(proxied, jwt, url.PathEscape(string(testenv.CertPEM(other)))), http.StatusUnauthorized, "invalid_token")
			wantError(t, getWith(proxied, jwt, ""), http.StatusUnauthorized, "invalid_token")
		})
		t.Run(name+" from an untrusted address is ignored", func(t *testing.T) {
			wantError(t, post(direct, header), http.StatusUnauthorized, "invalid_client")
		})
	}
	if !strings.Contains(direct.Logs.String(), "client certificate header from an untrusted address ignored") {
		t.Errorf("the ignored header was not logged")
	}
	t.Run("an appended XFCC (two elements) is refused", func(t *testing.T) {
		r := post(proxied, formats["envoy"]+`,By=x;Cert="`+escaped+`"`)
		if r.Status == http.StatusOK {
			t.Fatalf("a two-element XFCC header got a token")
		}
	})
}

// A client registers itself (RFC 7591) for tls_client_auth with the
// subject its certificate names (RFC 8705 §2.1.2), then gets a token with
// that certificate alone, bound to it.
func TestDynamicRegistrationOfAnMTLSClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	s := startMTLSWith(t, func(c *bootstrap.Config) { c.RegistrationOpen = true })
	hc := s.client(nil)
	register := func(body string) response {
		req, _ := http.NewRequest(http.MethodPost, s.node.AuthURL+"/oauth2/register", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return send(t, hc, req)
	}
	r := register(`{"client_name":"dn by registration","token_endpoint_auth_method":"tls_client_auth",` +
		`"tls_client_auth_subject_dn":"CN=mtls-dn,O=Sigil Test","tls_client_certificate_bound_access_tokens":true,"scope":"country.read"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	reg := r.JSON(t)
	if reg["client_secret"] != nil || reg["tls_client_auth_subject_dn"] != "CN=mtls-dn,O=Sigil Test" || reg["tls_client_certificate_bound_access_tokens"] != true {
		t.Errorf("registration answer %v", reg)
	}
	id := reg["client_id"].(string)
	tr := tokenRequest(t, s.client(&s.dnCert), s.node.AuthURL, id, nil)
	if tr.Status != http.StatusOK {
		t.Fatalf("token with the registered certificate: %d %s", tr.Status, tr.Body)
	}
	if cnf, _ := claimsOf(t, tr.JSON(t)["access_token"].(string))["cnf"].(map[string]any); cnf["x5t#S256"] != x5t(s.dnCert) {
		t.Errorf("cnf %v, want the certificate's x5t#S256", cnf)
	}
	wantError(t, tokenRequest(t, s.client(&s.otherCert), s.node.AuthURL, id, nil), http.StatusUnauthorized, "invalid_client")
	wantError(t, register(`{"token_endpoint_auth_method":"tls_client_auth"}`), http.StatusBadRequest, "invalid_client_metadata")
	wantError(t, register(`{"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_subject_dn":"CN=a","tls_client_auth_san_dns":"a.example"}`),
		http.StatusBadRequest, "invalid_client_metadata")
}
