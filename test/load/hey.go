package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// request is the HTTP request a scenario repeats.
type request struct {
	Method string
	URL    string
	Header map[string]string
	Body   string // form-encoded when not empty
}

// basicAuth is the Authorization header of client_secret_basic (RFC 6749
// §2.3.1). The harness sends it as a header because hey's own -a flag is
// lost in v0.1.5: hey.go calls req.SetBasicAuth and then replaces
// req.Header with the -H headers, so every request went out without it.
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// heyArgs is the hey command line for r: c workers for d.
func (r request) heyArgs(c int, d time.Duration) []string {
	args := []string{"-z", d.String(), "-c", strconv.Itoa(c), "-m", r.Method}
	if r.Body != "" {
		args = append(args, "-T", "application/x-www-form-urlencoded", "-d", r.Body)
	}
	for k, v := range r.Header {
		args = append(args, "-H", k+": "+v)
	}
	return append(args, r.URL)
}

// probe sends r once and fails unless it succeeds, so that a scenario
// that cannot work is reported as such instead of measuring errors.
func probe(ctx context.Context, r request) error {
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return err
	}
	if r.Body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("probe %s %s: %w", r.Method, r.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("probe %s %s: %d %s", r.Method, r.URL, resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

// heyPath resolves the hey pinned in go.mod's tool block (`go tool -n
// hey` builds it once and prints where), so the measured runs start the
// binary directly, without the go command's start-up in the timing.
func heyPath(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "tool", "-n", "hey")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool hey (is github.com/rakyll/hey in go.mod's tool block?): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// runHey drives r with hey for d with c workers and returns its parsed
// summary.
func runHey(ctx context.Context, hey string, r request, c int, d time.Duration) (heyResult, error) {
	cmd := exec.CommandContext(ctx, hey, r.heyArgs(c, d)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return heyResult{}, fmt.Errorf("hey: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return parseHey(string(out))
}

// measure runs hey on r and samples the CPU time of the process pid
// around it: the load lasts hey's Total, and pid does next to nothing
// while hey starts and prints, so CPU time over Total is the cores pid
// used under load.
func measure(ctx context.Context, hey string, r request, c int, d time.Duration, pid int) (measurement, error) {
	cpu0, err := cpuTime(pid)
	if err != nil {
		return measurement{}, err
	}
	h, err := runHey(ctx, hey, r, c, d)
	if err != nil {
		return measurement{}, err
	}
	cpu1, err := cpuTime(pid)
	if err != nil {
		return measurement{}, err
	}
	if h.Total <= 0 {
		return measurement{}, fmt.Errorf("hey ran for no time")
	}
	return measurement{
		RPS:    float64(h.OK()) / h.Total.Seconds(),
		P50:    h.Latency[50],
		P99:    h.Latency[99],
		Errors: h.Errors(),
		CPU:    cores(cpu1-cpu0, h.Total),
	}, nil
}
