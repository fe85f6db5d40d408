package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/bootstrap"
)

// preflight sends the CORS preflight the playground's page sends before
// its resource call, from origin.
func preflight(t *testing.T, u, origin string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "authorization,x-request-id")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestPlaygroundOffServesNothing: with playground=false (or demo clients
// off under auto) there is no page, no stream, no playground endpoint,
// and no CORS for any origin, the issuer's included.
func TestPlaygroundOffServesNothing(t *testing.T) {
	for name, change := range map[string]func(c *bootstrap.Config){
		"playground=false":       func(c *bootstrap.Config) { c.Playground = bootstrap.DemoOff },
		"auto, demo clients off": func(c *bootstrap.Config) { c.DemoClients = bootstrap.DemoOff },
	} {
		t.Run(name, func(t *testing.T) {
			n := startNode(t, change)
			if !strings.Contains(n.Logs.String(), "playground is off") {
				t.Errorf("the start log does not say the playground is off")
			}
			for _, u := range []string{n.AuthURL + "/playground/", n.AuthURL + "/playground/playground.js", n.ResourceURL + "/playground/events?session=0123456789abcdef0123456789abcdef"} {
				if r := get(t, u, ""); r.Status != http.StatusNotFound {
					t.Errorf("GET %s: %d, want 404", u, r.Status)
				}
			}
			for _, p := range []string{"/playground/api/expired-token", "/playground/api/rotate-keys"} {
				r := postForm(t, n.AuthURL+p, url.Values{"client_id": {"service-client-jwt"}, "client_secret": {"service-client-jwt-secret"}}, nil)
				if r.Status != http.StatusNotFound && r.Status != http.StatusMethodNotAllowed {
					t.Errorf("POST %s: %d, want 404 or 405", p, r.Status)
				}
			}
			resp := preflight(t, n.ResourceURL+"/country/code/AUS", n.Config.PlaygroundOrigin())
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("preflight from the issuer's origin with the playground off: Access-Control-Allow-Origin %q", got)
			}
		})
	}
}

// TestPlaygroundCORSForItsOriginOnly: the resource role answers the
// CORS protocol for the playground's origin, never another, never "*";
// the playground's own endpoints refuse another page's browser.
func TestPlaygroundCORSForItsOriginOnly(t *testing.T) {
	n := startNode(t, nil)
	origin := n.Config.PlaygroundOrigin()
	u := n.ResourceURL + "/country/code/AUS"

	resp := preflight(t, u, origin)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != origin ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight from %s: %d %v", origin, resp.StatusCode, resp.Header)
	}
	for _, other := range []string{"http://evil.example", "null", strings.Replace(origin, "localhost", "127.0.0.1", 1)} {
		if got := preflight(t, u, other).Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("preflight from %s: Access-Control-Allow-Origin %q", other, got)
		}
	}
	// The seed's call, without Origin, is answered as before: no CORS.
	if r := get(t, u, ""); r.Status != http.StatusUnauthorized || r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Vary") != "" {
		t.Errorf("call without Origin: %d %v", r.Status, r.Header)
	}
	// The page's CSP lets it reach this server and the resource role only.
	page := get(t, n.AuthURL+"/playground/", "")
	csp := page.Header.Get("Content-Security-Policy")
	if page.Status != http.StatusOK || !strings.Contains(csp, "default-src 'self'") ||
		!strings.Contains(csp, "connect-src 'self' http://localhost:"+strings.TrimPrefix(n.Config.ResourceAddr, "127.0.0.1:")+";") ||
		strings.Contains(csp, "unsafe-inline") {
		t.Errorf("page: %d, CSP %q", page.Status, csp)
	}
	req, err := http.NewRequest(http.MethodPost, n.AuthURL+"/playground/api/rotate-keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "http://evil.example")
	if r := do(t, req); r.Status != http.StatusBadRequest {
		t.Errorf("rotation asked from another origin: %d %s, want 400", r.Status, r.Body)
	}
	// The opaque client gets no expired token: the endpoint acts for the
	// demo JWT client only.
	r := postForm(t, n.AuthURL+"/playground/api/expired-token", url.Values{"client_id": {"user-client-opaque"}, "client_secret": {"user-client-secret"}}, nil)
	if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "unauthorized_client" {
		t.Errorf("expired token for the opaque client: %d %s", r.Status, r.Body)
	}
}
