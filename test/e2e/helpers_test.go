package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/test/testenv"
	"github.com/sigilauth/sigil/test/testnode"
)

// response is what a test reads of an HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map, failing the test if it is not JSON.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// get sends a GET with an optional bearer token.
func get(t *testing.T, u, bearer string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return do(t, req)
}

// postForm sends a form the way the seed's curl --data-urlencode does;
// basic, if not nil, is sent as HTTP Basic credentials.
func postForm(t *testing.T, u string, form url.Values, basic []string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return do(t, req)
}

// freePort finds a loopback port nobody listens on.
func freePort(t *testing.T) int { return testenv.FreePort(t) }

// waitReady polls a /readyz URL until it answers 200.
func waitReady(t *testing.T, u string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("sigil exited before %s was ready", u)
		default:
		}
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not ready within a minute", u)
}

// node is a Sigil app started in this test process (see testnode), with
// the requests the tests send it.
type node struct{ *testnode.Node }

// startNode starts Sigil in-process with the given config changes, on free
// ports, and stops it when the test ends.
func startNode(t *testing.T, change func(c *bootstrap.Config)) *node {
	t.Helper()
	return &node{testnode.Start(t, change)}
}

// newNode prepares a node without starting it, so a test can start
// several at the same moment.
func newNode(t *testing.T, change func(c *bootstrap.Config)) (*node, error) {
	t.Helper()
	n, err := testnode.New(t, change)
	if err != nil {
		return nil, err
	}
	return &node{n}, nil
}

// token asks the node for an access token with client_secret_post.
func (n *node) token(t *testing.T, id, secret, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	if scope != "" {
		form.Set("scope", scope)
	}
	r := postForm(t, n.AuthURL+"/oauth2/token", form, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("token for %s: %d %s", id, r.Status, r.Body)
	}
	return r.JSON(t)["access_token"].(string)
}
