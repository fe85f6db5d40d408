package fault_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/test/testenv"
)

// outage takes a dependency away twice under load, frozen and then
// killed, and checks what callers and the log saw.
type outage struct {
	freeze, thaw, kill, restart func()
	// timeout is the dependency's deadline setting.
	timeout time.Duration
	// name is the dependency's name in /readyz.
	name string
}

func runOutages(t *testing.T, n *node, o outage, kinds []kind, needs map[string]bool) {
	t.Helper()
	opaque := func() bool { return send("probe", tokenRequest(n, opaqueClient, opaqueSecret)).status == http.StatusOK }
	root := "http://" + n.Config.AuthAddr

	l := startLoad(4, kinds)
	time.Sleep(500 * time.Millisecond)
	logFrom := len(n.Logs.String())

	// Frozen: connections stay open and nothing answers.
	o.freeze()
	frozen := time.Now()
	// /readyz must not wait on the frozen dependency, even before Sigil
	// knows it is down.
	ready := make(chan struct{})
	go func() {
		defer close(ready)
		status, body := readyz(t, root)
		if status != http.StatusServiceUnavailable || !strings.Contains(body, `"down":["`+o.name+`"]`) {
			t.Errorf("/readyz while %s is frozen: %d %s", o.name, status, body)
		}
	}()
	first := send("probe", tokenRequest(n, opaqueClient, opaqueSecret))
	<-ready
	t.Logf("%s frozen: first opaque token request answered %d after %v (deadline %v)", o.name, first.status, first.took, o.timeout)
	if first.status != http.StatusServiceUnavailable || first.took > o.timeout+time.Second {
		t.Errorf("frozen %s: opaque token request %d after %v, want 503 within %v", o.name, first.status, first.took, o.timeout)
	}
	time.Sleep(1500 * time.Millisecond)
	status, body := readyz(t, root)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, o.name) {
		t.Errorf("/readyz while %s is known down: %d %s", o.name, status, body)
	}
	if r := send("healthz", mustGet(root+"/healthz")); r.status != http.StatusOK {
		t.Errorf("/healthz while %s is down: %d", o.name, r.status)
	}
	// The metrics say so too: failed calls counted, the feed (over Redis)
	// down.
	store := map[string]string{"redis": "redis", "database": "database"}[o.name]
	if failed := sumMetric(t, n, `sigil_store_call_errors_total{`, `store="`+store+`"`); failed == 0 {
		t.Errorf("no failed %s call counted while it is frozen", store)
	}
	if o.name == "redis" {
		if v := sumMetric(t, n, "sigil_feed_connected", ""); v != 0 {
			t.Errorf("sigil_feed_connected %v while Redis is frozen", v)
		}
	}
	o.thaw()
	thawed := time.Now()
	back := waitFor(t, o.name+" back after the thaw", 5*time.Second, opaque)
	t.Logf("%s thawed: opaque tokens again after %v", o.name, back)
	if back > time.Second {
		t.Errorf("recovery after the thaw took %v, want under 1 s", back)
	}
	time.Sleep(300 * time.Millisecond)

	// Killed: connections break, then refused, then a restart on the same
	// port and directory.
	l.mu.Lock()
	beforeKill := append([]issuedToken(nil), l.issued...)
	l.mu.Unlock()
	o.kill()
	killed := time.Now()
	time.Sleep(1500 * time.Millisecond)
	o.restart()
	restarted := time.Now()
	back = waitFor(t, o.name+" back after the restart", 5*time.Second, opaque)
	t.Logf("%s restarted: opaque tokens again after %v", o.name, back)
	if back > time.Second {
		t.Errorf("recovery after the restart took %v, want under 1 s", back)
	}
	time.Sleep(300 * time.Millisecond)
	if o.name == "redis" {
		// go-redis subscribes again once it has reconnected.
		waitFor(t, "the feed subscribed again", 10*time.Second, func() bool {
			return sumMetric(t, n, "sigil_feed_connected", "") == 1 && sumMetric(t, n, "sigil_feed_subscriptions_total", "") >= 2
		})
	}
	results := l.finish()
	if status, body := readyz(t, root); status != http.StatusOK {
		t.Errorf("/readyz after the outages: %d %s", status, body)
	}

	check(t, results, []window{{"frozen", frozen, thawed}, {"killed", killed, restarted}}, needs, o.timeout, o.timeout+100*time.Millisecond)

	lines := logLines(t, n.Logs.String(), logFrom)
	t.Logf("%d log lines (info and above, request log aside) over both outages:\n%s", len(lines), strings.Join(lines, "\n"))
	if len(lines) > 12 {
		t.Errorf("%d log lines over two outages, want a handful", len(lines))
	}
	if c := strings.Count(strings.Join(lines, "\n"), "dependency down"); c != 2 {
		t.Errorf("%d 'dependency down' lines for two outages", c)
	}

	// Every opaque token answered with 200 before the kill is still known.
	lost := 0
	for _, tok := range beforeKill {
		if !active(t, n, tok.value) {
			lost++
		}
	}
	t.Logf("%d opaque tokens issued before the kill, %d lost", len(beforeKill), lost)
	if len(beforeKill) == 0 || lost > 0 {
		t.Errorf("%d of %d opaque tokens issued before the kill are lost", lost, len(beforeKill))
	}
}

// sumMetric adds up the samples of the node's scrape whose line starts
// with series and holds labels.
func sumMetric(t *testing.T, n *node, series, labels string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + n.Config.AdminAddr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, series) || !strings.Contains(line, labels) {
			continue
		}
		if f := strings.Fields(line); len(f) == 2 && (f[0] == series || strings.HasPrefix(f[0], series)) {
			v, err := strconv.ParseFloat(f[1], 64)
			if err == nil {
				sum += v
			}
		}
	}
	return sum
}

func mustGet(u string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return req
}

// commonKinds are the requests of the load, for a node of role all.
func commonKinds(n *node, jwt, opaqueCached string) []kind {
	return []kind{
		{name: "opaque token", req: func() *http.Request { return tokenRequest(n, opaqueClient, opaqueSecret) }, opaque: true},
		{name: "jwt token", req: func() *http.Request { return tokenRequest(n, jwtClient, jwtSecret) }},
		{name: "introspect opaque", req: func() *http.Request { return introspectRequest(n, opaqueCached) }},
		{name: "introspect jwt", req: func() *http.Request { return introspectRequest(n, jwt) }},
		{name: "resource jwt", req: func() *http.Request { return resourceRequest(n, jwt) }},
		{name: "resource cached opaque", req: func() *http.Request { return resourceRequest(n, opaqueCached) }},
	}
}

// warm makes the resource role fetch the JWKS and cache the opaque
// token's introspection answer, as a node that has been serving would have.
func warm(t *testing.T, n *node, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		if r := send("warm", resourceRequest(n, tok)); r.status != http.StatusOK {
			t.Fatalf("resource with a fresh token: %d %s", r.status, r.body)
		}
	}
}

func TestRedisFrozenAndKilledUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("freezes and kills a Redis of its own under load")
	}
	rs := testenv.StartRedis(t, testenv.OwnRedisOptions{AOF: true})
	n := startNode(t, func(c *bootstrap.Config) {
		c.RedisAddr = rs.Addr()
		c.ResourceIntrospectionCacheTTL = time.Minute
	})
	jwt := token(t, n, jwtClient, jwtSecret)
	opaqueCached := token(t, n, opaqueClient, opaqueSecret)
	warm(t, n, jwt, opaqueCached)

	runOutages(t, n, outage{
		freeze: rs.Freeze, thaw: rs.Thaw, kill: rs.Kill, restart: rs.Restart,
		timeout: n.Config.RedisTimeout, name: "redis",
	}, commonKinds(n, jwt, opaqueCached), map[string]bool{
		// Opaque tokens live in Redis, and so does the deny list every
		// introspection of a JWT checks.
		"opaque token": true, "introspect opaque": true, "introspect jwt": true,
	})
}

func TestDatabaseFrozenAndKilledUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("freezes and kills a PostgreSQL of its own under load")
	}
	pg := testenv.StartPostgres(t)
	n := startNode(t, func(c *bootstrap.Config) {
		c.DatabaseDriver = "postgres"
		c.DatabaseDSN = pg.DSN()
		c.KeyEncryptionKey = kek()
		c.ResourceIntrospectionCacheTTL = time.Minute
	})
	jwt := token(t, n, jwtClient, jwtSecret)
	opaqueCached := token(t, n, opaqueClient, opaqueSecret)
	warm(t, n, jwt, opaqueCached)

	runOutages(t, n, outage{
		freeze: pg.Freeze, thaw: pg.Thaw, kill: pg.Kill, restart: pg.Restart,
		timeout: n.Config.DatabaseTimeout, name: "database",
	}, commonKinds(n, jwt, opaqueCached), map[string]bool{
		// Without Redis, opaque tokens and the deny list are in the
		// database; JWTs are issued from cached client records and
		// verified with the cached JWKS.
		"opaque token": true, "introspect opaque": true, "introspect jwt": true,
	})
}

func TestAuthRoleDownUnderAResourceRole(t *testing.T) {
	if testing.Short() {
		t.Skip("stops an auth node under load")
	}
	auth := startNode(t, func(c *bootstrap.Config) { c.Role = bootstrap.RoleAuth })
	res := startNode(t, func(c *bootstrap.Config) {
		c.Role = bootstrap.RoleResource
		c.ResourceIssuer = auth.Config.Issuer()
		c.ResourceIntrospectionCacheTTL = time.Minute
	})
	jwt := token(t, auth, jwtClient, jwtSecret)
	opaqueCached := token(t, auth, opaqueClient, opaqueSecret)
	opaqueFresh := token(t, auth, opaqueClient, opaqueSecret)
	warm(t, res, jwt, opaqueCached)

	l := startLoad(2, []kind{
		{name: "resource jwt", req: func() *http.Request { return resourceRequest(res, jwt) }},
		{name: "resource cached opaque", req: func() *http.Request { return resourceRequest(res, opaqueCached) }},
	})
	time.Sleep(300 * time.Millisecond)
	logFrom := len(res.Logs.String())
	auth.stop(t)
	down := time.Now()
	// A token the resource node has never seen: only the auth node could
	// say whether it is active.
	fresh := startLoad(1, []kind{
		{name: "resource uncached opaque", req: func() *http.Request { return resourceRequest(res, opaqueFresh) }},
	})
	time.Sleep(1500 * time.Millisecond)
	results := append(l.finish(), fresh.finish()...)

	// Before the stop the fresh token was fine; after it, only it fails.
	var after []result
	for _, r := range results {
		if r.at.After(down) {
			after = append(after, r)
		}
	}
	check(t, after, []window{{"auth down", down, time.Now()}}, map[string]bool{"resource uncached opaque": true}, n0(res), 0)
	for _, r := range after {
		if r.kind == "resource uncached opaque" && r.status != http.StatusServiceUnavailable {
			t.Errorf("an opaque token the resource node cannot introspect got %d", r.status)
		}
	}
	lines := logLines(t, res.Logs.String(), logFrom)
	t.Logf("resource node: %d log lines (info and above, request log aside) while the auth node is down", len(lines))
	if len(lines) > 5 {
		t.Errorf("%d log lines while the auth node is down:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// n0 is the resource node's deadline on calls to the auth node.
func n0(n *node) time.Duration { return n.Config.OutboundTimeout }
