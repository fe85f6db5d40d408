package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigilauth/sigil/bootstrap"
)

// The Go driver loads the rows wrk cannot: wrk presents no client
// certificate, so the mutual-TLS row and its TLS ceiling (mtls.go) are
// driven from this process with net/http's client and the request's
// tls.Config. It does what wrk does with -c N: N workers, each with one
// keep-alive HTTP/1.1 connection, sending its next request as soon as
// the last answer is read, for a fixed time. It spends more CPU per
// request than wrk (Go's TLS and HTTP stacks against a C event loop),
// on the same cores as the server, so its rows are compared only with
// a reference it drives too.

// The driver's bounds: it loads loopback addresses only, with at most
// maxWorkers connections, for at most maxDriveTime.
const (
	maxWorkers   = 1024
	maxDriveTime = 10 * time.Minute
	// driveTimeout is how long one request may take, as wrk's --timeout.
	driveTimeout = 5 * time.Second
)

// drive is one run of the driver.
type drive struct {
	Workers  int
	Duration time.Duration
	// MaxRequests ends the run once this many requests were sent, if
	// that comes before Duration; 0 sets no such bound.
	MaxRequests int
}

// run sends r from d.Workers workers until d.Duration has passed (or
// MaxRequests were sent) and reports as wrk does: complete answers,
// those whose status is not 2xx, requests without an answer, latency
// percentiles of the answers, and the CPU this process spent. Only a 2xx
// counts as a success (wrk counts any status below 400). A request cut
// off by the end of the run counts as nothing, as in wrk.
func (d drive) run(ctx context.Context, r request) (wrkResult, error) {
	if err := d.check(r); err != nil {
		return wrkResult{}, err
	}
	// The driver shares the cores with the server it loads: it collects
	// garbage as seldom as sigil does (bootstrap.DefaultGCPercent), so
	// that it takes less of them.
	defer debug.SetGCPercent(debug.SetGCPercent(bootstrap.DefaultGCPercent))
	client := &http.Client{Timeout: driveTimeout, Transport: r.transport(d.Workers)}
	defer client.CloseIdleConnections()
	runCtx, cancel := context.WithTimeout(ctx, d.Duration)
	defer cancel()

	type tally struct {
		latencies              []time.Duration
		statusErrors, noAnswer int
	}
	tallies := make([]tally, d.Workers)
	var (
		sent atomic.Int64
		conn atomic.Value // the first answer's TLS version and cipher suite
		wg   sync.WaitGroup
	)
	cpu0, err := cpuTime(0)
	if err != nil {
		return wrkResult{}, err
	}
	start := time.Now()
	for w := range d.Workers {
		t := &tallies[w]
		wg.Go(func() {
			for runCtx.Err() == nil {
				if d.MaxRequests > 0 && sent.Add(1) > int64(d.MaxRequests) {
					return
				}
				req, _ := r.httpRequest(runCtx) // check made one
				began := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil {
					if runCtx.Err() == nil {
						t.noAnswer++
					}
					continue
				}
				t.latencies = append(t.latencies, time.Since(began))
				if resp.StatusCode/100 != 2 {
					t.statusErrors++
				}
				if resp.TLS != nil && conn.Load() == nil {
					conn.CompareAndSwap(nil, tls.VersionName(resp.TLS.Version)+", "+tls.CipherSuiteName(resp.TLS.CipherSuite))
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	cpu1, err := cpuTime(0)
	if err != nil {
		return wrkResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return wrkResult{}, err
	}

	var res wrkResult
	var all []time.Duration
	for _, t := range tallies {
		all = append(all, t.latencies...)
		res.StatusErrors += t.statusErrors
		res.NoAnswer += t.noAnswer
	}
	slices.Sort(all)
	res.Requests = len(all)
	res.P50, res.P99 = percentile(all, 50), percentile(all, 99)
	res.Duration = took
	res.CPU = cpu1 - cpu0
	if c, ok := conn.Load().(string); ok {
		res.Conn = c
	}
	return res, nil
}

// check refuses a run the driver is not for.
func (d drive) check(r request) error {
	if d.Workers < 1 || d.Workers > maxWorkers {
		return fmt.Errorf("driver: %d workers, want 1 to %d", d.Workers, maxWorkers)
	}
	if d.Duration <= 0 || d.Duration > maxDriveTime {
		return fmt.Errorf("driver: a run of %s, want more than none and at most %s", d.Duration, maxDriveTime)
	}
	if r.Lua != "" {
		return errors.New("driver: the request has a wrk script; only wrk runs those")
	}
	req, err := r.httpRequest(context.Background())
	if err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	if host := req.URL.Hostname(); host != "localhost" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("driver: %s is not a loopback address", host)
		}
	}
	return nil
}

// percentile is the p-th percentile of sorted, zero when it is empty.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

// httpRequest is r as net/http sends it: a form body with its content
// type when there is one.
func (r request) httpRequest(ctx context.Context) (*http.Request, error) {
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	if r.Body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	return req, nil
}

// transport is the client side of r for conns connections at most, kept
// alive: r's TLS, HTTP/1.1 only (as wrk, and so that each worker has a
// connection of its own rather than a stream of a shared one), no
// proxy, and no Accept-Encoding added to what r sends.
func (r request) transport(conns int) *http.Transport {
	var conf *tls.Config
	if r.TLS != nil {
		conf = r.TLS.Clone()
	}
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: driveTimeout}).DialContext,
		TLSClientConfig:     conf,
		TLSHandshakeTimeout: driveTimeout,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
	}
}

// send sends r once on a connection of its own, for the probes and the
// tokens fetched ahead of a run; the caller closes the body.
func (r request) send(ctx context.Context) (*http.Response, error) {
	req, err := r.httpRequest(ctx)
	if err != nil {
		return nil, err
	}
	t := r.transport(1)
	t.DisableKeepAlives = true
	return (&http.Client{Timeout: 30 * time.Second, Transport: t}).Do(req)
}
