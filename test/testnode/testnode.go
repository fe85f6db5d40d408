// Package testnode runs Sigil nodes inside the test process, through fx as
// `sigil serve` composes them, for the end-to-end and fault tests. It is
// apart from testenv because it imports bootstrap, which the adapters'
// own tests (that use testenv) must not pull in.
package testnode

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/test/testenv"
)

// Node is a Sigil app run in this process on free loopback ports, with its
// log at debug level in Logs.
type Node struct {
	Config      bootstrap.Config
	AuthURL     string // base URL of the auth role's endpoints
	ResourceURL string // base URL of the resource role's endpoints (https with TLS)
	Logs        *testenv.LockedBuffer

	app      *fx.App
	started  atomic.Bool
	stopOnce sync.Once
	stopErr  error
}

// startTimeout and stopTimeout bound a node's start and stop.
const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// New prepares a node with the defaults (SQLite under t.TempDir(), both
// roles) and change applied, without starting it, so that a test can start
// several at the same moment. A started node is stopped when the test
// ends, and the test fails if it does not stop cleanly.
func New(t testing.TB, change func(c *bootstrap.Config)) (*Node, error) {
	t.Helper()
	c := bootstrap.Defaults()
	c.AuthAddr = "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	c.ResourceAddr = "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	c.AdminAddr = "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	c.DatabaseDSN = t.TempDir() + "/sigil.db"
	if change != nil {
		change(&c)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	scheme := "http://"
	if c.TLSEnabled() {
		scheme = "https://"
	}
	logs := &testenv.LockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n := &Node{
		Config:      c,
		AuthURL:     scheme + c.AuthAddr + c.AuthBasePath,
		ResourceURL: scheme + c.ResourceAddr + c.ResourceBasePath,
		Logs:        logs,
		app:         fx.New(bootstrap.App(c, log)),
	}
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Errorf("stop sigil: %v", err)
		}
	})
	return n, nil
}

// Start prepares a node as New does and starts it, failing the test if it
// does not start.
func Start(t testing.TB, change func(c *bootstrap.Config)) *Node {
	t.Helper()
	n, err := New(t, change)
	if err == nil {
		err = n.Start()
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Start starts the node; the error carries its log.
func (n *Node) Start() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := n.app.Start(ctx); err != nil {
		return fmt.Errorf("start sigil: %w\nlogs:\n%s", err, n.Logs)
	}
	n.started.Store(true)
	return nil
}

// Stop stops a started node, once: later calls return the first's error.
// A node never started has nothing to stop.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		if !n.started.Load() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		n.stopErr = n.app.Stop(ctx)
	})
	return n.stopErr
}
