package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// OwnPostgres is a PostgreSQL cluster of this test's own: initdb into a
// fresh directory, a postgres server on a free loopback port with trust
// authentication, never the shared server. The test may freeze it, kill
// it and start it again on the same port and directory. PostgreSQL refuses
// to run as root, so when the test runs as root the server runs as the
// user postgres through runuser.
type OwnPostgres struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    *LockedBuffer
}

// StartPostgres creates and starts the cluster; it is killed and removed
// when the test ends.
func StartPostgres(t testing.TB) *OwnPostgres {
	t.Helper()
	bin := postgresBin(t)
	// Not t.TempDir: its parents are closed to other users, and the server
	// may run as postgres.
	dir, err := os.MkdirTemp("", "sigil-pg-")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := chownToPostgres(dir, data); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	initdb := asPostgres(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
	p := &OwnPostgres{t: t, bin: bin, dir: dir}
	var lastErr error
	for range launchAttempts {
		port, err := freePort(false)
		if err != nil {
			lastErr = err
			continue
		}
		p.port = port
		if lastErr = p.launch(); lastErr == nil {
			t.Cleanup(p.Kill)
			return p
		}
	}
	t.Fatalf("testenv: start postgres: %v", lastErr)
	return nil
}

// DSN is a libpq DSN of the cluster's postgres database.
func (p *OwnPostgres) DSN() string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable connect_timeout=2", p.port)
}

// Freeze stops the postmaster and every backend with SIGSTOP: connections stay
// open and nothing answers, as with a hung host.
func (p *OwnPostgres) Freeze() { p.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server with SIGCONT.
func (p *OwnPostgres) Thaw() { p.signal(syscall.SIGCONT) }

func (p *OwnPostgres) signal(sig syscall.Signal) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	// Each backend puts itself in a session of its own, so a signal to the
	// postmaster's group misses them: signal the postmaster and each of
	// its children by pid.
	pids := append([]int{p.cmd.Process.Pid}, childrenOf(p.cmd.Process.Pid)...)
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && pid == p.cmd.Process.Pid {
			p.t.Fatalf("testenv: signal postgres: %v", err)
		}
	}
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so read after
		// the last parenthesis.
		rest := string(stat)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) > 1 {
			if ppid, _ := strconv.Atoi(f[1]); ppid == pid {
				out = append(out, child)
			}
		}
	}
	return out
}

// Kill kills every process of the server with SIGKILL and waits for the
// postmaster to exit; it may be called more than once.
func (p *OwnPostgres) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kill()
}

func (p *OwnPostgres) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	children := childrenOf(p.cmd.Process.Pid)
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	for _, pid := range children {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	<-p.exited
	// Backends die with the group; give the kernel a moment to release
	// the port and the shared memory before a restart.
	for range 100 {
		if c, err := net.DialTimeout("tcp", p.addr(), 50*time.Millisecond); err != nil {
			break
		} else {
			_ = c.Close()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Restart starts the server again on the same port and directory (after
// a kill, it recovers from its WAL) and waits until it answers.
func (p *OwnPostgres) Restart() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kill()
	var err error
	for range 3 {
		if err = p.launch(); err == nil {
			return
		}
	}
	p.t.Fatalf("testenv: restart postgres: %v", err)
}

func (p *OwnPostgres) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// launch starts the server and waits until it accepts queries.
func (p *OwnPostgres) launch() error {
	_ = os.Remove(filepath.Join(p.dir, "data", "postmaster.pid"))
	cmd := asPostgres(filepath.Join(p.bin, "postgres"), "-D", filepath.Join(p.dir, "data"),
		"-p", strconv.Itoa(p.port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+p.dir,
		"-c", "fsync=on", "-c", "max_connections=100", "-c", "shared_buffers=16MB")
	out := &LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// A process group of its own, so that a signal reaches the postmaster
	// and every backend.
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	p.cmd, p.exited, p.out = cmd, exited, out
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("postgres exited: %s", strings.TrimSpace(out.String()))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, p.DSN())
		if err == nil {
			err = conn.Ping(ctx)
			_ = conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.kill()
	return fmt.Errorf("postgres on port %d did not answer within %v: %s", p.port, startTimeout, strings.TrimSpace(out.String()))
}

// postgresBin finds the newest PostgreSQL server binaries.
func postgresBin(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if path, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(path)
	}
	t.Fatalf("testenv: PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (on Debian: apt-get install postgresql)")
	return ""
}

// asPostgres runs a PostgreSQL program as the user postgres when the test
// runs as root (the kernel switches the child's user; no runuser process
// stands between the test and the server, so signals reach the server),
// as itself otherwise.
func asPostgres(program string, args ...string) *exec.Cmd {
	cmd := exec.Command(program, args...)
	setDeathSignal(cmd)
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("postgres"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
			cmd.Env = append(os.Environ(), "HOME="+u.HomeDir, "USER=postgres")
		}
	}
	return cmd
}

func chownToPostgres(paths ...string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("the tests that start their own PostgreSQL as root need a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, path := range paths {
		if err := os.Chown(path, uid, gid); err != nil {
			return err
		}
	}
	return nil
}
