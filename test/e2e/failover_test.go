package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/test/testenv"
)

// TestClusterFailover runs a deployment as operators do, every node a
// `sigil serve` process: a Redis Cluster of three masters with a replica
// each, one PostgreSQL database, two auth nodes behind a load balancer and
// two resource nodes that reach the auth nodes through it. Under steady
// traffic a Redis master dies and its replica takes over, then one auth
// node dies. Every answer must be a 200 or a documented 503 with
// Retry-After, within the dependency deadline; once the cluster has
// failed over every answer is a 200 again; and a revocation still reaches
// both resource nodes at the end.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a six-node Redis Cluster and four sigil processes")
	}
	masters, replicas := testenv.RedisClusterWithReplicas(t)
	dsn := testenv.PostgresDSN(t)
	bin := buildSigil(t)

	var redisAddrs []string
	for _, n := range append(append([]testenv.ClusterNode{}, masters...), replicas...) {
		redisAddrs = append(redisAddrs, n.Addr)
	}
	prefix := fmt.Sprintf("sigil-fo-%d:", time.Now().UnixNano())
	authAddrs := []string{loopbackAddr(t), loopbackAddr(t)}
	lb := startBalancer(t, "http://"+authAddrs[0], "http://"+authAddrs[1])
	issuer := lb + "/ms-auth-server"
	common := []string{
		"SIGIL_DATABASE_DRIVER=postgres", "SIGIL_DATABASE_DSN=" + dsn,
		"SIGIL_KEY_ENCRYPTION_KEY=" + testKEK,
		"SIGIL_REDIS_ADDR=" + strings.Join(redisAddrs, ","),
		"SIGIL_REDIS_PREFIX=" + prefix,
		"SIGIL_DEMO_CLIENTS=true", "SIGIL_AUTH_ISSUER=" + issuer,
	}
	var auth []*serveProcess
	for _, addr := range authAddrs {
		auth = append(auth, startServe(t, bin, "http://"+addr+"/readyz",
			append(common, "SIGIL_ROLE=auth", "SIGIL_AUTH_ADDR="+addr, freeAdminAddr(t))...))
	}
	var resources []string
	for range 2 {
		addr := loopbackAddr(t)
		startServe(t, bin, "http://"+addr+"/readyz", append(common, "SIGIL_ROLE=resource", "SIGIL_RESOURCE_ADDR="+addr, freeAdminAddr(t),
			"SIGIL_RESOURCE_JWKS_URL="+issuer+"/oauth2/jwks",
			"SIGIL_RESOURCE_INTROSPECTION_URL="+issuer+"/oauth2/introspect")...)
		resources = append(resources, "http://"+addr+"/ms-system")
	}

	load := startFailoverLoad(issuer, resources)
	defer load.stop()
	time.Sleep(time.Second)
	if s := load.phase("steady"); s.ok == 0 || s.other > 0 || s.unavailable > 0 {
		t.Fatalf("before any failure: %s", s)
	}

	// A master dies; its replica takes over after cluster-node-timeout.
	load.phase("steady")
	killedAt := time.Now()
	masters[0].Kill()
	waitFailover(t, replicas)
	failedOver := time.Since(killedAt)
	// What the nodes saw while the cluster failed over, up to the moment
	// a run of round trips succeeds again.
	recovered := load.waitHealthy(t, 15*time.Second)
	s := load.phase("failover")
	t.Logf("master killed: replica promoted after %s, all round trips good again after %s; %s",
		failedOver.Round(time.Millisecond), recovered.Round(time.Millisecond), s)
	if s.other > 0 {
		t.Fatalf("during the failover some answers were neither 200 nor 503 with Retry-After: %s", s)
	}
	if s.jwtUnavailable > 0 {
		t.Fatalf("JWT issuance and checks need no Redis, yet %d of their answers were 503s: %s", s.jwtUnavailable, s)
	}
	time.Sleep(time.Second)
	if s := load.phase("after the failover"); s.ok == 0 || s.other > 0 || s.unavailable > 0 {
		t.Fatalf("after the failover: %s", s)
	}

	// An auth node dies; the load balancer sends everything to the other.
	auth[0].kill()
	time.Sleep(time.Second)
	if s := load.phase("one auth node dead"); s.ok == 0 || s.other > 0 || s.unavailable > 0 {
		t.Fatalf("with one auth node killed: %s", s)
	}
	load.stop()

	// A revocation at the surviving auth node reaches both resource nodes.
	jwt := tokenVia(t, issuer, jwtClient, "country.read")
	opaque := tokenVia(t, issuer, opaqueClient, "")
	for _, token := range []string{jwt, opaque} {
		for _, r := range resources {
			wantCountryAUS(t, get(t, r+"/country/code/AUS", token))
		}
	}
	for _, tc := range []struct {
		owner []string
		token string
	}{{jwtClient, jwt}, {opaqueClient, opaque}} {
		if r := postForm(t, issuer+"/oauth2/revoke", url.Values{"token": {tc.token}}, tc.owner); r.Status != http.StatusOK {
			t.Fatalf("revoke after the failover: %d %s", r.Status, r.Body)
		}
		for _, r := range resources {
			start := time.Now()
			for get(t, r+"/country/code/AUS", tc.token).Status != http.StatusUnauthorized {
				if time.Since(start) > 5*time.Second {
					t.Fatalf("%s still accepts a %s token 5s after its revocation", r, tc.owner[0])
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("%s refused the revoked %s token after %s", r, tc.owner[0], time.Since(start).Round(time.Millisecond))
		}
	}
	if n := auth[1].logs.String(); strings.Contains(n, "level=ERROR") {
		t.Errorf("the surviving auth node logged errors:\n%s", n)
	}
}

// waitFailover waits until one of the replicas has become a master and the
// surviving nodes report cluster_state:ok.
func waitFailover(t *testing.T, replicas []testenv.ClusterNode) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		promoted, ok := false, true
		for _, n := range replicas {
			c := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1, DialTimeout: time.Second})
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			role, err := c.Info(ctx, "replication").Result()
			info, err2 := c.ClusterInfo(ctx).Result()
			cancel()
			c.Close()
			promoted = promoted || err == nil && strings.Contains(role, "role:master")
			ok = ok && err2 == nil && strings.Contains(info, "cluster_state:ok")
		}
		if promoted && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no replica took over within 20s of its master's death")
}

// loopbackAddr is a free loopback address for a node to listen on.
func loopbackAddr(t *testing.T) string {
	return "127.0.0.1:" + strconv.Itoa(freePort(t))
}

// tokenVia asks for a token with client_secret_basic.
func tokenVia(t *testing.T, issuer string, client []string, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	r := postForm(t, issuer+"/oauth2/token", form, client)
	if r.Status != http.StatusOK {
		t.Fatalf("token for %s: %d %s", client[0], r.Status, r.Body)
	}
	return r.JSON(t)["access_token"].(string)
}

// serveProcess is one `sigil serve` process with a configuration of its
// own, given by environment variables.
type serveProcess struct {
	cmd    *exec.Cmd
	logs   *testenv.LockedBuffer
	exited chan struct{}
}

func startServe(t *testing.T, bin, readyURL string, env ...string) *serveProcess {
	t.Helper()
	dir := t.TempDir()
	p := &serveProcess{cmd: exec.Command(bin, "serve"), logs: &testenv.LockedBuffer{}, exited: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("sigil did not stop within 15s of SIGTERM")
		}
	})
	waitReady(t, readyURL, p.exited)
	return p
}

// kill ends the process as a crash would.
func (p *serveProcess) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// startBalancer stands in for the load balancer in front of the auth
// nodes: it sends each request to the next backend and, when a backend
// cannot be reached or drops the connection, to the one after, as
// HAProxy's or Envoy's retry on connection failure does. It returns its
// base URL.
func startBalancer(t *testing.T, backends ...string) string {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Uint32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		start := int(next.Add(1))
		for i := range backends {
			req, _ := http.NewRequestWithContext(r.Context(), r.Method, backends[(start+i)%len(backends)]+r.URL.RequestURI(), bytes.NewReader(body))
			req.Header = r.Header.Clone()
			resp, err := client.Do(req)
			if err != nil {
				continue
			}
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = io.Copy(w, resp.Body)
			resp.Body.Close()
			return
		}
		http.Error(w, "no backend answered", http.StatusBadGateway)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// failoverLoad is steady traffic across the deployment: each worker gets a
// JWT and an opaque token through the load balancer and uses both at a
// resource node, in turn.
type failoverLoad struct {
	mu       sync.Mutex
	tally    tally
	lastGood time.Time
	streak   int
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// tally counts answers: 200s, 503s with Retry-After, anything else (with
// the last such answer), and the slowest answer.
type tally struct {
	ok, unavailable, other int
	// jwtUnavailable counts the 503s on the JWT client's round trips.
	jwtUnavailable int
	lastOther      string
	slowest        time.Duration
	name           string
}

func (s tally) String() string {
	out := fmt.Sprintf("%s: %d ok, %d 503 with Retry-After (%d of them JWT), %d other, slowest %s", s.name, s.ok, s.unavailable, s.jwtUnavailable, s.other, s.slowest.Round(time.Millisecond))
	if s.other > 0 {
		out += "; last other: " + s.lastOther
	}
	return out
}

// failoverDeadline is how long any answer may take: the dependency
// deadline (2s by default) with room for a slow machine.
const failoverDeadline = 5 * time.Second

// failoverClient gives up on an answer a little after failoverDeadline, so
// a hung request is counted rather than stalling its worker.
var failoverClient = &http.Client{Timeout: failoverDeadline + time.Second}

func startFailoverLoad(issuer string, resources []string) *failoverLoad {
	l := &failoverLoad{done: make(chan struct{})}
	for w := range 4 {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.done:
					return
				default:
				}
				client := jwtClient
				if (w+i)%2 == 1 {
					client = opaqueClient
				}
				l.roundTrip(issuer, client, resources[(w/2+i)%len(resources)])
			}
		})
	}
	return l
}

func (l *failoverLoad) roundTrip(issuer string, client []string, resource string) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"country.read"}}
	req, _ := http.NewRequest(http.MethodPost, issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client[0], client[1])
	jwt := client[0] == jwtClient[0]
	body, good := l.send(req, jwt)
	if !good {
		return
	}
	token, _ := (response{Status: 200, Body: body}).jsonField("access_token")
	req, _ = http.NewRequest(http.MethodGet, resource+"/country/code/AUS", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	l.send(req, jwt)
}

// send makes one request and tallies its answer; it reports whether it
// was a 200. jwt says the request is part of a JWT client's round trip.
func (l *failoverLoad) send(req *http.Request, jwt bool) ([]byte, bool) {
	start := time.Now()
	resp, err := failoverClient.Do(req)
	took := time.Since(start)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tally.slowest = max(l.tally.slowest, took)
	switch {
	case err != nil:
		l.tally.other++
		l.tally.lastOther = fmt.Sprintf("%s %s: %v", req.Method, req.URL.Path, err)
	case took > failoverDeadline:
		l.tally.other++
		l.tally.lastOther = fmt.Sprintf("%s %s took %s", req.Method, req.URL.Path, took)
	case resp.StatusCode == http.StatusOK:
		l.tally.ok++
		l.streak++
		if l.streak >= 50 && l.lastGood.IsZero() {
			l.lastGood = time.Now()
		}
		return body, true
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" &&
		strings.Contains(string(body), `"temporarily_unavailable"`):
		l.tally.unavailable++
		if jwt {
			l.tally.jwtUnavailable++
		}
	default:
		l.tally.other++
		l.tally.lastOther = fmt.Sprintf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	l.streak, l.lastGood = 0, time.Time{}
	return body, false
}

// phase returns the tally since the last call, named, and starts a new one.
func (l *failoverLoad) phase(name string) tally {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.tally
	s.name = name
	l.tally = tally{}
	l.streak, l.lastGood = 0, time.Time{}
	return s
}

// waitHealthy waits until 50 answers in a row were 200s and returns how
// long that took from the call.
func (l *failoverLoad) waitHealthy(t *testing.T, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		l.mu.Lock()
		good := l.lastGood
		l.mu.Unlock()
		if !good.IsZero() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("round trips still failing %s after the failover: %s", limit, l.phase("failover"))
	return 0
}

func (l *failoverLoad) stop() {
	l.once.Do(func() { close(l.done); l.wg.Wait() })
}

// jsonField reads one string member of a JSON body.
func (r response) jsonField(name string) (string, error) {
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return "", err
	}
	s, ok := m[name].(string)
	if !ok {
		return "", errors.New("no " + name)
	}
	return s, nil
}

// freeAdminAddr gives a sigil process a management listener of its own,
// as several run side by side.
func freeAdminAddr(t *testing.T) string {
	return "SIGIL_ADMIN_ADDR=127.0.0.1:" + strconv.Itoa(freePort(t))
}
