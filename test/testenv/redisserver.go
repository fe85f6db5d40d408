package testenv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Throwaway Redis servers, for the tests that need a Redis of their own:
// one they may stop, or a Redis Cluster. Each is a child process of the
// test on a free loopback port, with persistence off, killed when the test
// ends.

// startTimeout bounds the wait for a server to answer, and for a cluster
// to agree on its slots.
const startTimeout = 10 * time.Second

// Cluster nodes listen on ports in [clusterPortLow, clusterPortHigh), their
// buses 10000 above, all below the ephemeral range.
const (
	clusterPortLow  = 20000
	clusterPortHigh = 22768
)

// RedisServer starts a standalone redis-server of this test's own and
// returns its address and a stop function, for tests that take Redis
// away. stop kills the server and waits for it to exit; it may be called
// more than once, and is called when the test ends.
func RedisServer(t testing.TB) (addr string, stop func()) {
	t.Helper()
	p, err := launchRedis(lookPath(t, "redis-server"), t.TempDir(), false, false)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(p.stop)
	return p.addr, p.stop
}

// RedisCluster starts a Redis Cluster of three masters without replicas,
// joined with redis-cli --cluster create, and returns the masters'
// addresses once every node reports cluster_state:ok. The servers are
// killed when the test ends.
func RedisCluster(t testing.TB) []string {
	t.Helper()
	server, cli := lookPath(t, "redis-server"), lookPath(t, "redis-cli")
	dir := t.TempDir()
	var (
		procs = make([]*redisProcess, 3)
		errs  = make([]error, 3)
		wg    sync.WaitGroup
	)
	for i := range procs {
		wg.Go(func() { procs[i], errs[i] = launchRedis(server, dir, true, false) })
	}
	wg.Wait()
	addrs := make([]string, len(procs))
	for i, p := range procs {
		if p != nil {
			t.Cleanup(p.stop)
			addrs[i] = p.addr
		}
	}
	for _, err := range errs {
		if err != nil {
			t.Fatalf("testenv: start a Redis Cluster node: %v", err)
		}
	}

	// Joining takes a second or two, longer on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*startTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("testenv: redis-cli --cluster create: %v\n%s", err, out)
	}

	// redis-cli returns once the nodes agree on the slots; each node
	// must also have marked the cluster ok before it serves a key.
	for _, p := range procs {
		for {
			info, err := p.client.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("testenv: Redis Cluster node %s not ok after %v: %v\n%s", p.addr, 3*startTimeout, err, info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return addrs
}

// redisProcess is a running redis-server.
type redisProcess struct {
	addr   string
	cmd    *exec.Cmd
	out    *LockedBuffer
	exited chan struct{}
	client *redis.Client
	stop   func()
}

func lookPath(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("testenv: %s is not installed (on Debian: apt-get install redis-server); the tests that start their own Redis need it: %v", name, err)
	}
	return path
}

// launchAttempts is how often a server is started on another port when
// the one chosen was taken in the meantime by someone else.
const launchAttempts = 5

// launchRedis starts server on a free port, waits until it answers, and
// returns it; the caller must arrange for stop to be called. With aof the
// server logs every write to an append-only file in dir and fsyncs it
// before it answers, so a write it acknowledged survives a kill.
func launchRedis(server, dir string, cluster, aof bool) (*redisProcess, error) {
	var lastErr error
	for range launchAttempts {
		port, err := freePort(cluster)
		if err != nil {
			lastErr = err
			continue
		}
		p, err := startRedis(server, dir, port, cluster, aof)
		if err != nil {
			return nil, err
		}
		if p.answers() {
			return p, nil
		}
		p.stop()
		// Most likely another process took the port between freePort
		// and the server's bind: try another.
		lastErr = fmt.Errorf("redis-server on port %d did not come up: %s", port, strings.TrimSpace(p.out.String()))
	}
	return nil, fmt.Errorf("could not start redis-server in %d attempts: %w", launchAttempts, lastErr)
}

// startRedis starts server on port without waiting for it.
func startRedis(server, dir string, port int, cluster, aof bool) (*redisProcess, error) {
	args := []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--dir", dir, "--logfile", "",
	}
	if aof {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	if cluster {
		args = append(args, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", port)))
	}
	cmd := exec.Command(server, args...)
	out := &LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	p := &redisProcess{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, out: out, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	p.client = redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1, DialTimeout: time.Second})
	p.stop = sync.OnceFunc(func() {
		_ = p.client.Close()
		// A frozen server must be woken to die promptly; SIGKILL reaches
		// it either way.
		_ = cmd.Process.Kill()
		<-p.exited
	})
	return p, nil
}

// OwnRedisOptions configure StartRedis.
type OwnRedisOptions struct {
	// AOF turns on the append-only file with an fsync before every
	// answer (appendfsync always).
	AOF bool
}

// OwnRedis is a redis-server of this test's own that the test may freeze,
// kill and start again on the same port and directory.
type OwnRedis struct {
	t      testing.TB
	server string
	dir    string
	port   int
	aof    bool

	mu   sync.Mutex
	proc *redisProcess
}

// StartRedis starts a standalone redis-server of this test's own on a
// free loopback port; it is killed when the test ends.
func StartRedis(t testing.TB, opts OwnRedisOptions) *OwnRedis {
	t.Helper()
	server, dir := lookPath(t, "redis-server"), t.TempDir()
	p, err := launchRedis(server, dir, false, opts.AOF)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	_, port, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(port)
	r := &OwnRedis{t: t, server: server, dir: dir, port: n, aof: opts.AOF, proc: p}
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.proc.stop()
	})
	return r
}

// Addr is the server's address; it stays the same across Restart.
func (r *OwnRedis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// Freeze stops the server with SIGSTOP: connections stay open and nothing
// answers, as with a hung host.
func (r *OwnRedis) Freeze() { r.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server with SIGCONT.
func (r *OwnRedis) Thaw() { r.signal(syscall.SIGCONT) }

func (r *OwnRedis) signal(sig syscall.Signal) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.proc.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("testenv: signal redis-server: %v", err)
	}
}

// Kill kills the server with SIGKILL and waits for it to exit.
func (r *OwnRedis) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.proc.stop()
}

// Restart starts the server again on the same port and directory, so that
// with AOF it loads what it had written, and waits until it answers.
func (r *OwnRedis) Restart() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.proc.stop()
	p, err := startRedis(r.server, r.dir, r.port, false, r.aof)
	if err != nil {
		r.t.Fatalf("testenv: %v", err)
	}
	r.proc = p
	if !p.answers() {
		r.t.Fatalf("testenv: redis-server did not come back on port %d: %s", r.port, strings.TrimSpace(p.out.String()))
	}
}

// answers waits until the server answers, and reports false if it exits
// first, if another server answers on its port, or if startTimeout
// passes.
func (p *redisProcess) answers() bool {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return false
		default:
		}
		// A bare dial first: go-redis retries a refused dial with pauses,
		// while the server is up within milliseconds.
		conn, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err != nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		_ = conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := p.client.Info(ctx, "server").Result()
		cancel()
		if err == nil {
			// The port may have gone to another server between freePort
			// and this one's bind (this one then exits): answer only for
			// our own process.
			return strings.Contains(info, fmt.Sprintf("process_id:%d\r\n", p.cmd.Process.Pid))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// freePort asks the kernel for a free loopback port. A cluster node also
// listens on port+10000 for its bus, so for one both ports are drawn below
// the kernel's range of ephemeral ports (32768 and up on Linux): there an
// outgoing connection of any other process could take the bus port
// between this check and the server's bind, and the cluster would never
// join.
func freePort(cluster bool) (int, error) {
	if !cluster {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	for range 50 {
		port := clusterPortLow + rand.IntN(clusterPortHigh-clusterPortLow)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		_ = l.Close()
		bus, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		if err != nil {
			continue
		}
		_ = bus.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port pair for a cluster node")
}
