// Package fault_test takes Sigil's dependencies away under load, as an
// operator's bad day would: a Redis and a PostgreSQL of the test's own are
// frozen (SIGSTOP) and killed, then brought back, and an auth node is
// stopped under a resource node. It checks what a caller would notice:
// only the requests that need the missing dependency get 503 with
// Retry-After, fast, everything else keeps its 200, nothing waits past its
// deadline, the service is back within a second, no acknowledged opaque
// token is lost, and the log says so in a few lines.
package fault_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/test/testnode"
)

// The demo clients the nodes register.
const (
	jwtClient, jwtSecret       = "service-client-jwt", "service-client-jwt-secret"
	opaqueClient, opaqueSecret = "user-client-opaque", "user-client-secret"
)

// node is a Sigil app started in this test process (see testnode).
type node struct{ *testnode.Node }

// startNode starts Sigil in this process on free loopback ports, with its
// demo clients, and stops it when the test ends.
func startNode(t *testing.T, change func(c *bootstrap.Config)) *node {
	t.Helper()
	return &node{testnode.Start(t, func(c *bootstrap.Config) {
		c.DemoClients = "true"
		if change != nil {
			change(c)
		}
	})}
}

// stop stops the node before the test ends.
func (n *node) stop(t *testing.T) {
	t.Helper()
	if err := n.Stop(); err != nil {
		t.Errorf("stop sigil: %v", err)
	}
}

func kek() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// result is one request as the caller saw it.
type result struct {
	kind       string
	status     int
	retryAfter bool
	took       time.Duration
	at         time.Time
	body       string
}

var client = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func send(kind string, req *http.Request) result {
	start := time.Now()
	resp, err := client.Do(req)
	r := result{kind: kind, at: start}
	if err != nil {
		r.took = time.Since(start)
		r.body = err.Error()
		return r
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.took = time.Since(start)
	r.status = resp.StatusCode
	r.retryAfter = resp.Header.Get("Retry-After") != ""
	r.body = string(body)
	return r
}

func tokenRequest(n *node, id, secret string) *http.Request {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	req, _ := http.NewRequest(http.MethodPost, n.AuthURL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func introspectRequest(n *node, token string) *http.Request {
	form := url.Values{"token": {token}}
	req, _ := http.NewRequest(http.MethodPost, n.AuthURL+"/oauth2/introspect", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(jwtClient, jwtSecret)
	return req
}

func resourceRequest(n *node, token string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, n.ResourceURL+"/country/code/PT", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// token issues a token and fails the test unless it gets one.
func token(t *testing.T, n *node, id, secret string) string {
	t.Helper()
	r := send("token", tokenRequest(n, id, secret))
	if r.status != http.StatusOK {
		t.Fatalf("token for %s: %d %s", id, r.status, r.body)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.AccessToken == "" {
		t.Fatalf("token for %s: %v: %s", id, err, r.body)
	}
	return body.AccessToken
}

// active reports whether the auth node says token is active.
func active(t *testing.T, n *node, token string) bool {
	t.Helper()
	r := send("introspect", introspectRequest(n, token))
	if r.status != http.StatusOK {
		t.Fatalf("introspect: %d %s", r.status, r.body)
	}
	var body struct {
		Active bool `json:"active"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatal(err)
	}
	return body.Active
}

// load runs workers goroutines that each send the requests of kinds in
// turn until stop is closed, and returns every result.
type load struct {
	mu      sync.Mutex
	results []result
	stop    chan struct{}
	wg      sync.WaitGroup
	// issued are the opaque tokens issued with 200, in order.
	issued []issuedToken
}

type issuedToken struct {
	value string
	at    time.Time
}

type kind struct {
	name string
	req  func() *http.Request
	// opaque marks an opaque token request whose token is kept.
	opaque bool
}

func startLoad(workers int, kinds []kind) *load {
	l := &load{stop: make(chan struct{})}
	for w := range workers {
		l.wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				k := kinds[i%len(kinds)]
				r := send(k.name, k.req())
				l.mu.Lock()
				l.results = append(l.results, r)
				if k.opaque && r.status == http.StatusOK {
					var body struct {
						AccessToken string `json:"access_token"`
					}
					if json.Unmarshal([]byte(r.body), &body) == nil {
						l.issued = append(l.issued, issuedToken{body.AccessToken, r.at.Add(r.took)})
					}
				}
				l.mu.Unlock()
				// A little pause keeps two cores shared with the servers.
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return l
}

func (l *load) finish() []result {
	close(l.stop)
	l.wg.Wait()
	return l.results
}

// window is one outage: from when the dependency went away to when it
// answered again.
type window struct {
	name       string
	start, end time.Time
}

func (w window) holds(at time.Time) bool { return !at.Before(w.start) && at.Before(w.end) }

// check asserts the rules of the test on results: needs names the kinds
// that need the missing dependency, deadline is its timeout setting, and
// requests that start settle after an outage began must fail fast.
func check(t *testing.T, results []result, outages []window, needs map[string]bool, deadline, settle time.Duration) {
	t.Helper()
	var (
		fast      []time.Duration
		statuses  = map[string]map[int]int{}
		slowest   time.Duration
		slowestOf string
	)
	for _, r := range results {
		if statuses[r.kind] == nil {
			statuses[r.kind] = map[int]int{}
		}
		statuses[r.kind][r.status]++
		if r.took > slowest {
			slowest, slowestOf = r.took, r.kind
		}
		if r.took > deadline+time.Second {
			t.Errorf("%s took %v, past the %v deadline", r.kind, r.took, deadline)
		}
		switch r.status {
		case http.StatusOK:
		case http.StatusServiceUnavailable:
			if !needs[r.kind] {
				t.Errorf("%s got 503 though it does not need the dependency: %s", r.kind, r.body)
			}
			if !r.retryAfter || !strings.Contains(r.body, "temporarily_unavailable") {
				t.Errorf("%s: 503 without Retry-After or temporarily_unavailable: %s", r.kind, r.body)
			}
			// A request that starts once the dependency is known to be
			// down must fail fast.
			for _, w := range outages {
				if w.holds(r.at) && r.at.After(w.start.Add(settle)) {
					fast = append(fast, r.took)
				}
			}
		default:
			t.Errorf("%s: status %d (%s)", r.kind, r.status, r.body)
		}
	}
	slices.Sort(fast)
	if len(fast) == 0 {
		t.Errorf("no request met a dependency known to be down; statuses %v", statuses)
		return
	}
	p50, p99, max := fast[len(fast)/2], fast[len(fast)*99/100], fast[len(fast)-1]
	t.Logf("%d requests; statuses by kind %v; slowest %v (%s)", len(results), statuses, slowest, slowestOf)
	t.Logf("fail fast while down: %d requests, p50 %v, p99 %v, max %v", len(fast), p50, p99, max)
	if p99 > 100*time.Millisecond {
		t.Errorf("fail-fast p99 %v, want under 100 ms", p99)
	}
}

// waitFor polls ok every 5 ms for up to limit and returns how long it
// took, failing the test if it never held.
func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// logLines counts the lines logged at info or above, other than the
// request log and the audit events (one per token issued: the traffic's,
// not the outage's), between two offsets of a node's log, and fails the
// test on any line at error level.
func logLines(t *testing.T, logs string, from int) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(logs[from:], "\n") {
		if line == "" || strings.Contains(line, "level=DEBUG") || strings.Contains(line, "msg=request ") || strings.Contains(line, "msg=audit ") {
			continue
		}
		if strings.Contains(line, "level=ERROR") {
			t.Errorf("logged at error during the outage: %s", line)
		}
		out = append(out, line)
	}
	return out
}

// readyz asks a node's /readyz, and fails the test if it takes a second.
func readyz(t *testing.T, base string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/readyz", nil)
	r := send("readyz", req)
	t.Logf("/readyz answered %d in %v", r.status, r.took)
	if r.took > time.Second {
		t.Errorf("/readyz took %v", r.took)
	}
	return r.status, r.body
}
