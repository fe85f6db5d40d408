package bootstrap_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/test/testenv"
	"github.com/sigilauth/sigil/test/testnode"
)

// Every goroutine a node starts has an owner that ends it when the app
// stops: the servers, the feed, the key rotation and reload loops, the
// cleanup and sweep tickers, the outage probes, the Redis token pipeline,
// the database's and Redis's own. A node that served each kind of request
// and was stopped leaves none behind.
func TestStopEndsEveryGoroutine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	for _, withRedis := range []bool{false, true} {
		name := "database"
		if withRedis {
			name = "redis"
		}
		t.Run(name, func(t *testing.T) {
			var prefix string
			if withRedis {
				_, prefix = testenv.Redis(t)
			}
			// What the test process runs already (testenv's Redis client,
			// the test framework) is not the node's.
			before := goleak.IgnoreCurrent()
			n := testnode.Start(t, func(c *bootstrap.Config) {
				if withRedis {
					c.RedisAddr, c.RedisPrefix = testenv.RedisAddr(), prefix
				}
			})
			serveEachKind(t, n)
			if err := n.Stop(); err != nil {
				t.Fatal(err)
			}
			goleak.VerifyNone(t, before)
		})
	}
}

// serveEachKind sends the requests that start the node's goroutines:
// tokens of both formats (the opaque one through the store's pipeline),
// the resource with each (a JWKS fetch, an introspection), a revocation
// (the feed).
func serveEachKind(t *testing.T, n *testnode.Node) {
	t.Helper()
	// No keep-alive: a connection left open is the client's goroutine.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	send := func(req *http.Request) string {
		t.Helper()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, body)
		}
		return string(body)
	}
	post := func(path, id, secret string, form url.Values) string {
		req, _ := http.NewRequest(http.MethodPost, n.AuthURL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		return send(req)
	}
	token := func(id, secret string) string {
		var body struct {
			AccessToken string `json:"access_token"`
		}
		raw := post("/oauth2/token", id, secret, url.Values{"grant_type": {"client_credentials"}, "scope": {"country.read"}})
		if err := json.Unmarshal([]byte(raw), &body); err != nil || body.AccessToken == "" {
			t.Fatalf("token for %s: %v %s", id, err, raw)
		}
		return body.AccessToken
	}
	jwt := token("service-client-jwt", "service-client-jwt-secret")
	opaque := token("user-client-opaque", "user-client-secret")
	for _, tok := range []string{jwt, opaque} {
		req, _ := http.NewRequest(http.MethodGet, n.ResourceURL+"/country/code/PT", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		send(req)
	}
	post("/oauth2/revoke", "service-client-jwt", "service-client-jwt-secret", url.Values{"token": {jwt}})
}
