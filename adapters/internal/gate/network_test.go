package gate

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"
)

func TestNetworkFailureTellsABrokenConnectionFromARefusedRequest(t *testing.T) {
	// A port nobody listens on: the dial is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, refused := net.DialTimeout("tcp", addr, time.Second)
	if refused == nil {
		t.Fatal("a dial to a closed port succeeded")
	}
	// A peer that closes the connection: the read ends.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, eof := c.Read(make([]byte, 1))
	// A read past its deadline.
	_ = c.SetReadDeadline(time.Now().Add(-time.Second))
	_, late := c.Read(make([]byte, 1))

	for _, err := range []error{refused, eof, late, fmt.Errorf("save token: %w", refused)} {
		if !NetworkFailure(err) {
			t.Errorf("NetworkFailure(%v) = false, want true", err)
		}
	}
	for _, err := range []error{errors.New("WRONGTYPE Operation against a key holding the wrong kind of value"), errors.New("duplicate key value violates unique constraint")} {
		if NetworkFailure(err) {
			t.Errorf("NetworkFailure(%v) = true, want false", err)
		}
	}
}
