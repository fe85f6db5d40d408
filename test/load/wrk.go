package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
	// Lua, when set, is added to the script as it is: a request()
	// function there makes each request anew (see floodLua).
	Lua string
	// TLS, when set, is the client's TLS (the CA it trusts, the
	// certificate it presents). wrk cannot present a certificate, so
	// such a request is loaded by the Go driver (driver.go).
	TLS *tls.Config
}

// basicAuth is the Authorization header of client_secret_basic (RFC 6749
// §2.3.1).
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// summaryTag starts the one line the harness's Lua done() hook prints.
const summaryTag = "sigil-wrk-summary"

// wrkScript is the Lua script that makes wrk send r and, when the run
// ends, print its summary as one line of key=value pairs (wrk's done
// hook: summary.requests counts complete answers, summary.errors.status
// those among them with a status of 400 or more, the other error counts
// requests that got no answer; latency percentiles are in microseconds).
// Parsing that line rather than wrk's human summary keeps the harness
// independent of wrk's formatting and gives exact counts.
func (r request) wrkScript() (string, error) {
	var b strings.Builder
	field := func(name, value string) error {
		q, err := luaString(value)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(&b, "%s = %s\n", name, q)
		return nil
	}
	if err := field("wrk.method", r.Method); err != nil {
		return "", err
	}
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[k] = v
	}
	if r.Body != "" {
		if err := field("wrk.body", r.Body); err != nil {
			return "", err
		}
		headers["Content-Type"] = "application/x-www-form-urlencoded"
	}
	for k, v := range headers {
		if err := field("wrk.headers["+mustLua(k)+"]", v); err != nil {
			return "", err
		}
	}
	if r.Lua != "" {
		b.WriteString(r.Lua)
	}
	b.WriteString(`
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("` + summaryTag + ` requests=%d duration_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`)
	return b.String(), nil
}

// luaString quotes s as a Lua string literal. Requests hold URLs, base64
// and form-encoded text only, so anything but printable ASCII is refused
// rather than escaped.
func luaString(s string) (string, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "", fmt.Errorf("byte %#x cannot go into the wrk script", s[i])
		}
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`, nil
}

func mustLua(s string) string {
	q, err := luaString(s)
	if err != nil {
		panic(err)
	}
	return q
}

// wrkResult is what one wrk run reports through the done hook.
type wrkResult struct {
	Duration     time.Duration // how long the load lasted
	Requests     int           // complete answers, whatever their status
	StatusErrors int           // answers with a status of 400 or more (the Go driver: not 2xx)
	NoAnswer     int           // connect, read, write errors and timeouts
	P50, P99     time.Duration
	CPU          time.Duration // wrk's own user and system time
	// Conn is the TLS version and cipher suite the Go driver's
	// connections agreed on; empty for wrk and plain HTTP.
	Conn string
}

// OK counts the answers that succeeded. wrk counts a status below 400 as
// success, the Go driver 2xx only; no scenario redirects, and probe
// checks each answers 2xx before it is loaded.
func (w wrkResult) OK() int { return w.Requests - w.StatusErrors }

// Errors counts answers with an error status and requests without an answer.
func (w wrkResult) Errors() int { return w.StatusErrors + w.NoAnswer }

// parseWrk reads the summary line the done hook prints among wrk's own
// output.
func parseWrk(out string) (wrkResult, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), summaryTag+" ")
		if !ok {
			continue
		}
		v := map[string]int64{}
		for _, kv := range strings.Fields(rest) {
			k, val, ok := strings.Cut(kv, "=")
			if !ok {
				return wrkResult{}, fmt.Errorf("wrk summary: %q", kv)
			}
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return wrkResult{}, fmt.Errorf("wrk summary: %q: %w", kv, err)
			}
			v[k] = n
		}
		for _, k := range []string{"requests", "duration_us", "status_errors", "connect", "read", "write", "timeout", "p50_us", "p99_us"} {
			if _, ok := v[k]; !ok {
				return wrkResult{}, fmt.Errorf("wrk summary has no %s: %q", k, rest)
			}
		}
		return wrkResult{
			Duration:     time.Duration(v["duration_us"]) * time.Microsecond,
			Requests:     int(v["requests"]),
			StatusErrors: int(v["status_errors"]),
			NoAnswer:     int(v["connect"] + v["read"] + v["write"] + v["timeout"]),
			P50:          time.Duration(v["p50_us"]) * time.Microsecond,
			P99:          time.Duration(v["p99_us"]) * time.Microsecond,
		}, nil
	}
	return wrkResult{}, errors.New("wrk printed no summary")
}

// probe sends r once and fails unless it succeeds, so that a scenario
// that cannot work is reported as such instead of measuring errors.
func probe(ctx context.Context, r request) error {
	resp, err := r.send(ctx)
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

// wrkPath finds wrk on PATH. `go tool task bench` installs it from
// Debian's packages first when it is missing.
func wrkPath() (string, error) {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", errors.New("wrk is not installed: run the harness with `go tool task bench`, which installs it, or `apt-get install wrk`")
	}
	return p, nil
}

// wrkVersion is the first line of `wrk -v`, e.g. "wrk 4.1.0 [epoll] ...".
func wrkVersion(wrk string) string {
	out, _ := exec.Command(wrk, "-v").CombinedOutput()
	first, _, _ := strings.Cut(string(out), "\n")
	if !strings.HasPrefix(first, "wrk ") {
		return "wrk (version unknown)"
	}
	return strings.TrimSpace(first)
}

// load is how hard wrk drives a scenario.
type load struct {
	Threads     int
	Connections int
}

// runWrk drives r with wrk for d and returns its parsed summary.
func runWrk(ctx context.Context, wrk string, r request, l load, d time.Duration) (wrkResult, error) {
	script, err := r.wrkScript()
	if err != nil {
		return wrkResult{}, err
	}
	dir, err := os.MkdirTemp("", "sigil-bench-wrk-")
	if err != nil {
		return wrkResult{}, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "scenario.lua")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		return wrkResult{}, err
	}
	// wrk takes whole seconds; a sub-second duration rounds up to one.
	secs := max(1, int((d+time.Second-1)/time.Second))
	cmd := exec.CommandContext(ctx, wrk,
		"-t", strconv.Itoa(l.Threads), "-c", strconv.Itoa(l.Connections),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "5s", "-s", path, r.URL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return wrkResult{}, fmt.Errorf("%w\nwrk said:\n%s%s", err, out, stderr.Bytes())
	}
	res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return res, nil
}

// loader is how r is loaded for a given time: by wrk, or by the Go
// driver when r presents a client certificate.
type loader func(d time.Duration) (wrkResult, error)

func loaderOf(ctx context.Context, wrk string, r request, l load) loader {
	if r.TLS != nil {
		return func(d time.Duration) (wrkResult, error) {
			return drive{Workers: l.Connections, Duration: d}.run(ctx, r)
		}
	}
	return func(d time.Duration) (wrkResult, error) { return runWrk(ctx, wrk, r, l, d) }
}

// measure loads for d and samples the CPU time of the process pid
// around it: the load lasts d, and pid does next to nothing while wrk
// starts and prints, so CPU time over that duration is the cores pid
// used under load.
func measure(run loader, d time.Duration, pid int) (measurement, error) {
	cpu0, err := cpuTime(pid)
	if err != nil {
		return measurement{}, err
	}
	w, err := run(d)
	if err != nil {
		return measurement{}, err
	}
	cpu1, err := cpuTime(pid)
	if err != nil {
		return measurement{}, err
	}
	if w.Duration <= 0 {
		return measurement{}, fmt.Errorf("the load ran for no time")
	}
	return measurement{
		RPS:     float64(w.OK()) / w.Duration.Seconds(),
		P50:     w.P50,
		P99:     w.P99,
		Errors:  w.Errors(),
		CPU:     cores(cpu1-cpu0, w.Duration),
		LoadCPU: cores(w.CPU, w.Duration),
		Conn:    w.Conn,
	}, nil
}
