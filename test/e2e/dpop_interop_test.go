package e2e_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDPoPInteropWithANodeClient runs a DPoP client Sigil did not write,
// panva's dpop library for Node (test/e2e/node, pinned by its
// package-lock.json; .ci/run installs it with npm ci), against one node:
// its proofs must get DPoP tokens bound to its keys, reach the resource,
// and be refused when replayed.
func TestDPoPInteropWithANodeClient(t *testing.T) {
	client := nodeClient(t, "dpop")
	n := startNode(t, nil)
	out := client.run(t, "dpop-client.mjs",
		n.Config.Issuer()+"/oauth2/token", n.ResourceURL+"/country/code/AUS", "service-client-jwt", "service-client-jwt-secret")
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		lines++
		var r struct {
			Alg             string         `json:"alg"`
			JKT             string         `json:"jkt"`
			TokenStatus     int            `json:"token_status"`
			TokenType       string         `json:"token_type"`
			CnfJKT          string         `json:"cnf_jkt"`
			ResourceStatus  int            `json:"resource_status"`
			ResourceBody    map[string]any `json:"resource_body"`
			ReplayStatus    int            `json:"replay_status"`
			ReplayChallenge string         `json:"replay_challenge"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("node client printed %q: %v", sc.Text(), err)
		}
		t.Run(r.Alg, func(t *testing.T) {
			if r.TokenStatus != 200 || r.TokenType != "DPoP" {
				t.Errorf("token request: %d, token_type %q", r.TokenStatus, r.TokenType)
			}
			// The library's own RFC 7638 thumbprint of its key is the
			// token's cnf.jkt.
			if r.CnfJKT == "" || r.CnfJKT != r.JKT {
				t.Errorf("cnf.jkt %q, the library's thumbprint %q", r.CnfJKT, r.JKT)
			}
			if r.ResourceStatus != 200 || r.ResourceBody["code"] != "AUS" {
				t.Errorf("resource: %d %v", r.ResourceStatus, r.ResourceBody)
			}
			if r.ReplayStatus != 401 || !strings.HasPrefix(r.ReplayChallenge, `DPoP error="invalid_dpop_proof"`) {
				t.Errorf("replayed proof: %d %q", r.ReplayStatus, r.ReplayChallenge)
			}
		})
	}
	if lines != 3 {
		t.Errorf("node client printed %d results, want 3:\n%s", lines, out)
	}
}

// nodeScripts runs the scripts of test/e2e/node with Node.js: clients
// written with libraries the project did not write.
type nodeScripts struct{ node, dir string }

// nodeClient finds Node.js and the npm package pkg in test/e2e/node, or
// skips the test saying what is missing (task test installs both).
func nodeClient(t *testing.T, pkg string) nodeScripts {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the interop tests need Node.js 20 or later (go tool task test installs it)")
	}
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg)); err != nil {
		t.Skipf("%s is not installed: run npm ci --prefix test/e2e/node", pkg)
	}
	return nodeScripts{node: node, dir: dir}
}

// run runs script with args and returns what it printed; a failure ends
// the test with the script's stderr.
func (s nodeScripts) run(t *testing.T, script string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), s.node, append([]string{script}, args...)...)
	cmd.Dir = s.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client %s: %v\n%s", script, err, stderr.String())
	}
	return out
}
