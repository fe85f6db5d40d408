package gate

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestGateClosesOnFailureAndOpensWhenTheProbeAnswers(t *testing.T) {
	var up atomic.Bool
	var logs lockedBuffer
	g := New("redis", func(context.Context) error {
		if up.Load() {
			return nil
		}
		return errors.New("connection refused")
	}, Options{ProbeInterval: 10 * time.Millisecond, ReportInterval: 30 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer g.Close()

	if !g.Allow() || !g.Open() {
		t.Fatal("a new gate must be open")
	}
	g.Fail(errors.New("dial tcp: connection refused"))
	g.Fail(errors.New("again")) // a second failure in the same outage logs nothing
	for range 5 {
		if g.Allow() {
			t.Fatal("a closed gate allowed a call")
		}
	}
	time.Sleep(50 * time.Millisecond) // the probe keeps failing; a report is due
	if g.Open() {
		t.Fatal("the gate opened while the probe failed")
	}
	up.Store(true)
	deadline := time.Now().Add(time.Second)
	for !g.Open() {
		if time.Now().After(deadline) {
			t.Fatal("the gate did not open after the probe answered")
		}
		time.Sleep(time.Millisecond)
	}
	if !g.Allow() {
		t.Fatal("an open gate refused a call")
	}
	g.Close() // the probe logs its "back" line just after opening the gate: wait for it
	out := logs.String()
	if n := strings.Count(out, "dependency down"); n != 1 {
		t.Errorf("%d down lines, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "dependency is back"); n != 1 || !strings.Contains(out, "refused=5") {
		t.Errorf("want one back line counting 5 refusals:\n%s", out)
	}
	if !strings.Contains(out, "dependency still down") || !strings.Contains(out, "refused_since_last=5") {
		t.Errorf("no periodic report of refusals:\n%s", out)
	}
	if strings.Contains(out, "level=ERROR") {
		t.Errorf("an outage logged at ERROR:\n%s", out)
	}
}

func TestNilGateIsOpen(t *testing.T) {
	var g *Gate
	if !g.Allow() || !g.Open() {
		t.Fatal("a nil gate must be open")
	}
	g.Fail(errors.New("x"))
	g.Close()
}

// BenchmarkAllowParallel is the cost the gate adds to every call to a
// healthy dependency: one atomic load, about a nanosecond, shared by all
// cores without contention (the line is only read).
func BenchmarkAllowParallel(b *testing.B) {
	g := New("redis", func(context.Context) error { return nil }, Options{})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !g.Allow() {
				b.Fatal("closed")
			}
		}
	})
}
