package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigilauth/sigil/test/testenv"
)

// The seed documents' URLs, verbatim.
const (
	seedCountry    = "http://localhost:8091/ms-system/country/code/AUS"
	seedChallenge  = `Bearer resource_metadata="http://localhost:8091/.well-known/oauth-protected-resource/ms-system"`
	seedToken      = "http://localhost:8085/ms-auth-server/oauth2/token"
	seedJWKS       = "http://localhost:8085/ms-auth-server/oauth2/jwks"
	seedIntrospect = "http://localhost:8085/ms-auth-server/oauth2/introspect"
	seedIssuer     = "http://localhost:8085/ms-auth-server"
)

// sigilProcess is `sigil serve` run as a user runs it: a built binary, in
// its own working directory, with the defaults.
type sigilProcess struct {
	cmd    *exec.Cmd
	logs   *testenv.LockedBuffer
	exited chan struct{}
}

func buildSigil(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sigil")
	build := exec.Command("go", "build", "-o", bin, "github.com/sigilauth/sigil/cmd/sigil")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build sigil: %v\n%s", err, out)
	}
	return bin
}

func startSigil(t *testing.T, bin, dir string, env ...string) *sigilProcess {
	t.Helper()
	for _, port := range []string{"8085", "8091"} {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
			c.Close()
			t.Fatalf("port %s is taken: the seed flows need the documented ports 8085 and 8091 free", port)
		}
	}
	p := runSigil(t, bin, dir, []string{"serve"}, env...)
	waitReady(t, "http://localhost:8085/readyz", p.exited)
	waitReady(t, "http://localhost:8091/readyz", p.exited)
	return p
}

// runSigil starts bin with args in dir, with env and nothing of the
// developer's shell but PATH, and stops it when the test ends.
func runSigil(t *testing.T, bin, dir string, args []string, env ...string) *sigilProcess {
	t.Helper()
	p := &sigilProcess{cmd: exec.Command(bin, args...), logs: &testenv.LockedBuffer{}, exited: make(chan struct{})}
	p.cmd.Dir = dir
	// Only PATH and HOME: no SIGIL_* setting from the developer's shell.
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop sends SIGTERM and expects a clean, prompt exit.
func (p *sigilProcess) stop(t *testing.T) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("sigil exited with %d after SIGTERM\n%s", code, p.logs)
		}
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("sigil did not stop within 15s of SIGTERM")
	}
}

// jwtHeader decodes a compact JWS header.
func jwtHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("token header: %v", err)
	}
	return h
}

func wantCountryAUS(t *testing.T, r response) {
	t.Helper()
	if r.Status != http.StatusOK || string(r.Body) != `{"code":"AUS","name":"AUSTRALIA"}`+"\n" && string(r.Body) != `{"code":"AUS","name":"AUSTRALIA"}` {
		t.Fatalf("country: got %d %s, want 200 {\"code\":\"AUS\",\"name\":\"AUSTRALIA\"}", r.Status, r.Body)
	}
}

// TestSeedFlows replays both seed documents request by request against a
// fresh `sigil serve` with the defaults, at the documented URLs.
func TestSeedFlows(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary on the documented ports")
	}
	bin := buildSigil(t)
	dir := t.TempDir()
	p := startSigil(t, bin, dir)

	// 000: the resource without a token is refused with the Bearer
	// challenge the seed shows, which names the resource's RFC 9728
	// metadata (§5.1) as an auth-param (RFC 6750 §3 allows them): the
	// scheme stays first and alone, what a seed client reads.
	r := get(t, seedCountry, "")
	if ch := r.Header.Get("WWW-Authenticate"); r.Status != http.StatusUnauthorized || ch != seedChallenge {
		t.Fatalf("no token: got %d %q, want 401 %q", r.Status, ch, seedChallenge)
	}

	// 000: client_secret_post for the JWT client with the seed's scopes.
	r = postForm(t, seedToken, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"service-client-jwt"},
		"client_secret": {"service-client-jwt-secret"},
		"scope":         {"country.read customer.read customer.write"},
	}, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("jwt token: %d %s", r.Status, r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("token Cache-Control = %q, want no-store", cc)
	}
	tok := r.JSON(t)
	if tok["token_type"] != "Bearer" || tok["scope"] != "country.read customer.read customer.write" || tok["expires_in"] != float64(14400) {
		t.Fatalf("jwt token response: %s", r.Body)
	}
	jwt := tok["access_token"].(string)
	h := jwtHeader(t, jwt)
	if h["alg"] != "RS256" || h["typ"] != "at+jwt" || h["kid"] == "" {
		t.Fatalf("jwt header: %v", h)
	}

	// 000: the resource with the JWT.
	wantCountryAUS(t, get(t, seedCountry, jwt))

	// 000: the JWKS has the signing key by kid, public members only.
	r = get(t, seedJWKS, "")
	if r.Status != http.StatusOK {
		t.Fatalf("jwks: %d %s", r.Status, r.Body)
	}
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(r.Body, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks body: %v %s", err, r.Body)
	}
	found := false
	for _, k := range set.Keys {
		if k["kid"] == h["kid"] {
			found = k["kty"] == "RSA" && k["e"] == "AQAB" && k["n"] != nil
		}
		if k["d"] != nil || k["p"] != nil {
			t.Fatalf("jwks leaks private key members: %s", r.Body)
		}
	}
	if !found {
		t.Fatalf("jwks has no RSA key with kid %v: %s", h["kid"], r.Body)
	}

	// 004: an opaque token for the user client.
	r = postForm(t, seedToken, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"user-client-opaque"},
		"client_secret": {"user-client-secret"},
		"scope":         {"country.read"},
	}, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("opaque token: %d %s", r.Status, r.Body)
	}
	tok = r.JSON(t)
	opaque := tok["access_token"].(string)
	if tok["scope"] != "country.read" || tok["token_type"] != "Bearer" || strings.Contains(opaque, ".") {
		t.Fatalf("opaque token response: %s", r.Body)
	}
	wantCountryAUS(t, get(t, seedCountry, opaque))

	// 004: introspection by the JWT client, credentials in the body.
	r = postForm(t, seedIntrospect, url.Values{
		"client_id":     {"service-client-jwt"},
		"client_secret": {"service-client-jwt-secret"},
		"token":         {opaque},
	}, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("introspect: %d %s", r.Status, r.Body)
	}
	in := r.JSON(t)
	for k, want := range map[string]any{
		"active": true, "sub": "user-client-opaque", "client_id": "user-client-opaque",
		"scope": "country.read", "iss": seedIssuer, "token_type": "Bearer",
	} {
		if in[k] != want {
			t.Errorf("introspection %s = %v, want %v", k, in[k], want)
		}
	}
	if aud, _ := in["aud"].([]any); len(aud) != 1 || aud[0] != "user-client-opaque" {
		t.Errorf("introspection aud = %v, want [user-client-opaque]", in["aud"])
	}
	for _, k := range []string{"exp", "iat", "nbf", "jti"} {
		if in[k] == nil {
			t.Errorf("introspection lacks %s: %s", k, r.Body)
		}
	}

	// The embedded default logs that demo credentials are active, and
	// never logs a secret.
	logs := p.logs.String()
	if !strings.Contains(logs, "demo clients are active") {
		t.Errorf("no demo-credentials warning in the log:\n%s", logs)
	}
	for _, secret := range []string{"service-client-jwt-secret", "user-client-secret", opaque} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret %q", secret)
		}
	}

	// A restart keeps the signing key: the same kid, and the JWT issued
	// before still works; the opaque token survives in the database.
	p.stop(t)
	startSigil(t, bin, dir)
	if h2 := jwtHeader(t, postFormToken(t)); h2["kid"] != h["kid"] {
		t.Errorf("kid after restart = %v, want %v", h2["kid"], h["kid"])
	}
	wantCountryAUS(t, get(t, seedCountry, jwt))
	wantCountryAUS(t, get(t, seedCountry, opaque))
}

func postFormToken(t *testing.T) string {
	t.Helper()
	r := postForm(t, seedToken, url.Values{"grant_type": {"client_credentials"}}, []string{"service-client-jwt", "service-client-jwt-secret"})
	if r.Status != http.StatusOK {
		t.Fatalf("basic token: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["access_token"].(string)
}
