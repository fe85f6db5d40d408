package e2e_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// playgroundRun is what test/e2e/node/playground.mjs read off the page
// after one run: each arrow's state and text, what the resource server
// reported of its own calls, the decoded JWT and each step's status.
type playgroundRun struct {
	Name   string `json:"name"`
	Arrows map[string]struct {
		State string `json:"state"`
		Text  string `json:"text"`
	} `json:"arrows"`
	Upstream      int               `json:"upstream"`
	JWKS          string            `json:"jwks"`
	Introspection string            `json:"introspection"`
	JWT           string            `json:"jwt"`
	Steps         map[string]string `json:"steps"`
	Curls         []string          `json:"curls"`
	Foreign       []string          `json:"foreign"`
	Problems      []string          `json:"problems"`
}

// TestPlaygroundInABrowser opens the playground page of a `sigil serve`
// (the binary, with the defaults but its ports) in Debian's Chromium,
// driven by playwright-core (test/e2e/node; no browser is downloaded), and
// checks what a person would: both flows and every failure choice run
// with the right status on each arrow, the JWKS is fetched once and then
// found in the cache, the introspection answer is shown, the keyboard
// alone runs the page, and nothing is asked of any origin but Sigil's.
// Screenshots at 1280x800 and 390x844 go to test/e2e/artifacts.
func TestPlaygroundInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium against a built sigil serve")
	}
	scripts := nodeClient(t, "playwright-core")
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		var err error
		if chromium, err = exec.LookPath("chromium"); err != nil {
			t.Skip("chromium is not installed: the playground test drives Debian's chromium (go tool task test installs it)")
		}
	}
	bin := buildSigil(t)
	dir := t.TempDir()
	authPort, resourcePort := strconv.Itoa(freePort(t)), strconv.Itoa(freePort(t))
	p := runSigil(t, bin, dir, []string{"serve", "--auth-addr", "127.0.0.1:" + authPort, "--resource-addr", "127.0.0.1:" + resourcePort,
		"--admin-addr=", "--jwks-min-refresh-interval=1s", "--database-dsn", filepath.Join(dir, "sigil.db")})
	waitReady(t, "http://127.0.0.1:"+authPort+"/readyz", p.exited)
	waitReady(t, "http://127.0.0.1:"+resourcePort+"/readyz", p.exited)

	page := "http://localhost:" + authPort + "/ms-auth-server/playground/"
	if !strings.Contains(p.logs.String(), "playground is on") || !strings.Contains(p.logs.String(), "url="+page) {
		t.Errorf("the start log does not say the playground is on at %s:\n%s", page, p.logs)
	}
	shots, err := filepath.Abs("artifacts")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), scripts.node, "playground.mjs", page, "http://localhost:"+resourcePort, shots)
	cmd.Dir = scripts.dir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("playground.mjs: %v\n%s\n%s", err, out, stderr.String())
	}
	runs := map[string]playgroundRun{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r playgroundRun
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("playground.mjs printed %q: %v", sc.Text(), err)
		}
		runs[r.Name] = r
	}
	checkPlaygroundRuns(t, runs)
	for _, size := range []string{"1280x800", "390x844"} {
		if fi, err := os.Stat(filepath.Join(shots, "playground-"+size+".png")); err != nil || fi.Size() == 0 {
			t.Errorf("no screenshot at %s: %v", size, err)
		}
	}
}

func checkPlaygroundRuns(t *testing.T, runs map[string]playgroundRun) {
	t.Helper()
	const country = `200 {"code":"AUS","name":"AUSTRALIA"}`
	// arrow checks one arrow's state and that its text starts with want.
	arrow := func(t *testing.T, r playgroundRun, id, state, want string) {
		t.Helper()
		a, ok := r.Arrows[id]
		if !ok {
			t.Errorf("no arrow %s", id)
			return
		}
		if a.State != state || !strings.HasPrefix(a.Text, want) {
			t.Errorf("arrow %s: %s %q, want %s %q…", id, a.State, a.Text, state, want)
		}
	}
	got := func(t *testing.T, name string) playgroundRun {
		t.Helper()
		r, ok := runs[name]
		if !ok {
			t.Fatalf("no run %s", name)
		}
		return r
	}
	// Every run begins with the seed's challenge.
	challenge := func(t *testing.T, r playgroundRun) {
		t.Helper()
		arrow(t, r, "challenge-res", "ok", "401 Bearer")
	}
	succeeded := func(t *testing.T, r playgroundRun) {
		t.Helper()
		challenge(t, r)
		arrow(t, r, "token-res", "ok", "200 Bearer")
		arrow(t, r, "resource-res", "ok", country)
	}

	t.Run("jwt", func(t *testing.T) {
		r := got(t, "jwt")
		succeeded(t, r)
		// The resource server's first JWT: it fetches the JWKS.
		if r.JWKS != "fetched" {
			t.Errorf("first JWT: JWKS %q, want fetched", r.JWKS)
		}
		arrow(t, r, "upstream-res", "ok", "200 1 key(s)")
		if !strings.Contains(r.JWT, `"alg": "RS256"`) || !strings.Contains(r.JWT, `"sub": "service-client-jwt"`) ||
			!strings.Contains(r.JWT, "verified by the resource server with the JWKS key kid") {
			t.Errorf("decoded JWT:\n%s", r.JWT)
		}
		if len(r.Curls) < 3 || !strings.HasPrefix(r.Curls[1], "curl --location --request POST 'http://localhost:") ||
			!strings.Contains(r.Curls[1], "--data-urlencode 'client_secret=service-client-jwt-secret'") {
			t.Errorf("curl commands: %q", r.Curls)
		}
	})
	t.Run("jwt again: the key is in the cache", func(t *testing.T) {
		r := got(t, "jwt-again")
		succeeded(t, r)
		if r.JWKS != "cached" {
			t.Errorf("second JWT: JWKS %q, want cached", r.JWKS)
		}
		arrow(t, r, "upstream-req", "ok", "cache hit, kid")
	})
	t.Run("client_secret_basic", func(t *testing.T) {
		r := got(t, "jwt-basic")
		succeeded(t, r)
		if len(r.Curls) < 2 || !strings.Contains(r.Curls[1], "--user 'service-client-jwt:service-client-jwt-secret'") {
			t.Errorf("basic curl: %q", r.Curls)
		}
	})
	t.Run("stepped", func(t *testing.T) { succeeded(t, got(t, "jwt-stepped")) })
	for _, flow := range []string{"jwt", "opaque"} {
		t.Run(flow+" scope the client may not have", func(t *testing.T) {
			r := got(t, flow+"-scope")
			challenge(t, r)
			arrow(t, r, "token-res", "fail", "400 invalid_scope")
			arrow(t, r, "resource-res", "skipped", "")
		})
		t.Run(flow+" tampered", func(t *testing.T) {
			r := got(t, flow+"-tampered")
			arrow(t, r, "resource-res", "fail", "401 invalid_token")
		})
		t.Run(flow+" revoked", func(t *testing.T) {
			r := got(t, flow+"-revoked")
			arrow(t, r, "revoke-res", "ok", "200")
			arrow(t, r, "resource-res", "fail", "401 invalid_token")
		})
	}
	t.Run("expired", func(t *testing.T) {
		r := got(t, "jwt-expired")
		arrow(t, r, "token-res", "ok", "200 Bearer")
		arrow(t, r, "resource-res", "fail", "401 invalid_token")
	})
	t.Run("forced key rotation", func(t *testing.T) {
		r := got(t, "jwt-rotation")
		arrow(t, r, "rotate-res", "ok", "200 kid")
		// The new kid is unknown to the resource server: it fetches the
		// JWKS, which now holds the old key and the new one.
		arrow(t, r, "upstream-res", "ok", "200 2 key(s)")
		arrow(t, r, "resource-res", "ok", country)
		if r.JWKS != "fetched" {
			t.Errorf("after the rotation: JWKS %q, want fetched", r.JWKS)
		}
		if after := got(t, "jwt-after-rotation"); after.JWKS != "cached" {
			t.Errorf("the next token with the new key: JWKS %q, want cached", after.JWKS)
		}
	})
	t.Run("without country.read", func(t *testing.T) {
		r := got(t, "jwt-noscope")
		arrow(t, r, "token-res", "ok", "200 Bearer customer.read")
		arrow(t, r, "resource-res", "fail", "403 insufficient_scope")
	})
	for _, name := range []string{"opaque", "opaque-basic"} {
		t.Run(name, func(t *testing.T) {
			r := got(t, name)
			succeeded(t, r)
			arrow(t, r, "upstream-res", "ok", "200 active: true")
			var answer map[string]any
			if err := json.Unmarshal([]byte(r.Introspection), &answer); err != nil {
				t.Fatalf("introspection answer %q: %v", r.Introspection, err)
			}
			if answer["active"] != true || answer["client_id"] != "user-client-opaque" || answer["scope"] != "country.read" ||
				answer["token_type"] != "Bearer" || answer["exp"] == nil || answer["jti"] == nil {
				t.Errorf("introspection answer: %v", answer)
			}
		})
	}
	t.Run("opaque tampered: introspection says inactive", func(t *testing.T) {
		if r := got(t, "opaque-tampered"); r.Introspection != `{"active":false}` {
			t.Errorf("introspection answer %q", r.Introspection)
		}
	})
	t.Run("only Sigil is asked, nothing breaks", func(t *testing.T) {
		s := got(t, "summary")
		if len(s.Foreign) > 0 {
			t.Errorf("requests to other origins: %q", s.Foreign)
		}
		for _, p := range s.Problems {
			t.Error(p)
		}
	})
}
