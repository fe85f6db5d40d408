package e2e_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/bootstrap"
)

// rawGet sends a GET with one extra header of size bytes over a fresh
// connection, as any client could, and reads the answer.
func rawGet(t *testing.T, addr, path string, size int) (*http.Response, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nX-Padding: " + strings.Repeat("p", size) + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("send %d-byte header: %v", size, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the answer to a %d-byte header: %v", size, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// TestOversizedHeadersAreRefused: on both roles' listeners a header block
// past max-header-bytes gets 431 with nothing but the status in the body,
// ordinary large headers still pass, and the server goes on serving.
func TestOversizedHeadersAreRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	n := startNode(t, nil)
	for _, l := range []struct{ role, addr string }{
		{"auth", n.Config.AuthAddr},
		{"resource", n.Config.ResourceAddr},
	} {
		t.Run(l.role, func(t *testing.T) {
			path := "/healthz"
			// 20 KiB of headers, far more than any real client sends, pass.
			if resp, body := rawGet(t, l.addr, path, 20<<10); resp.StatusCode == http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("a 20 KiB header was refused: %d %s", resp.StatusCode, body)
			}
			// 40 KiB is past the 32 KiB cap and its 4 KiB of slack; 1 MiB,
			// net/http's default, is far past it.
			for _, size := range []int{40 << 10, 900 << 10} {
				resp, body := rawGet(t, l.addr, path, size)
				if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
					t.Fatalf("a %d-byte header: %d %s, want 431", size, resp.StatusCode, body)
				}
				if body != "431 Request Header Fields Too Large" || !resp.Close {
					t.Errorf("431 answer: body %q, close %v; want the status alone and the connection closed", body, resp.Close)
				}
			}
			r := get(t, "http://"+l.addr+path, "")
			if r.Status != http.StatusOK {
				t.Fatalf("the server stopped serving after refusing large headers: %d", r.Status)
			}
		})
	}
}

// TestMaxHeaderBytesIsASetting: a lower cap refuses what the default
// lets through.
func TestMaxHeaderBytesIsASetting(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	n := startNode(t, func(c *bootstrap.Config) { c.MaxHeaderBytes = 8 << 10 })
	if resp, _ := rawGet(t, n.Config.ResourceAddr, "/healthz", 20<<10); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a 20 KiB header under an 8 KiB cap: %d, want 431", resp.StatusCode)
	}
}
