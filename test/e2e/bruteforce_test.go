package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/test/testenv"
)

// countingHasher counts the slow hashes the server runs.
type countingHasher struct {
	application.SecretHasher
	verifies *atomic.Int64
}

func (h countingHasher) VerifySecret(hash, secret string) (bool, error) {
	h.verifies.Add(1)
	return h.SecretHasher.VerifySecret(hash, secret)
}

// TestBruteForce floods the token endpoint with wrong secrets, for the id
// a legitimate client is using, for another client's id and for unknown
// ids, from many addresses behind a trusted proxy and from the proxy's
// own, while that client keeps asking for tokens. Every one of its
// requests must succeed, the flood must be answered 401, 429 or 503 (the
// last two with Retry-After), a throttled request must cost no hash, and
// memory must stay bounded. It runs Sigil in this process (the real
// modules, real argon2id, the opaque tokens and the limiter counts in
// Redis) so that it can count the hashes.
func TestBruteForce(t *testing.T) {
	if testing.Short() {
		t.Skip("a 12-second flood")
	}
	// As `sigil serve` runs.
	defer debug.SetGCPercent(debug.SetGCPercent(bootstrap.DefaultGCPercent))

	redisClient, prefix := testenv.Redis(t)
	c := bootstrap.Defaults()
	c.Role = bootstrap.RoleAuth
	c.AuthAddr = "127.0.0.1:" + strconv.Itoa(freePort(t))
	c.AdminAddr = "127.0.0.1:" + strconv.Itoa(freePort(t))
	c.DatabaseDSN = t.TempDir() + "/sigil.db"
	c.RedisAddr, c.RedisPrefix = testenv.RedisAddr(), prefix
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	// Three failures a minute rather than ten, so that counts are used up
	// within the flood even on a slow machine.
	c.AuthFailureLimit = 3
	// Failed hashes may use the whole slot: this test is about the
	// throttle, and with failures held to a share of the slot (the unit
	// tests and the load harness's attack rows cover that) a slow machine
	// runs too few hashes within the flood to fill any count.
	c.HashFailurePercent = 100
	c.DemoClients = "true"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(c.MemoryLimit()))
	// redis_rate's keys start with "rate:", outside the test's prefix.
	t.Cleanup(func() {
		ctx := context.Background()
		iter := redisClient.Scan(ctx, 0, "rate:"+prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			redisClient.Del(ctx, iter.Val())
		}
	})
	var hashes atomic.Int64
	logs := &testenv.LockedBuffer{}
	app := fx.New(
		bootstrap.App(c, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		fx.Decorate(func(h application.SecretHasher) application.SecretHasher {
			return countingHasher{SecretHasher: h, verifies: &hashes}
		}),
	)
	startCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		t.Fatalf("start sigil: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = app.Stop(ctx)
	})
	tokenURL := "http://" + c.AuthAddr + c.AuthBasePath + "/oauth2/token"

	// A generous timeout: the machine may be busy, and a request that got
	// no answer would leave its hash uncounted against its answer.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	send := func(id, secret, forwardedFor string) (int, http.Header, error) {
		req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		if forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", forwardedFor)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header, nil
	}
	const legitID, legitSecret = "service-client-jwt", "service-client-jwt-secret"
	if status, _, err := send(legitID, legitSecret, ""); err != nil || status != http.StatusOK {
		t.Fatalf("first token: %d %v", status, err)
	}

	// legit sends the client's requests from 4 connections until stop.
	type tally struct{ ok, failed atomic.Int64 }
	legit := func(stop <-chan struct{}, n *tally) *sync.WaitGroup {
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					status, _, err := send(legitID, legitSecret, "")
					if err == nil && status == http.StatusOK {
						n.ok.Add(1)
					} else {
						n.failed.Add(1)
						if n.failed.Load() <= 3 {
							t.Errorf("legitimate token request: %d %v", status, err)
						}
					}
				}
			})
		}
		return &wg
	}
	run := func(d time.Duration, n *tally) {
		stop := make(chan struct{})
		wg := legit(stop, n)
		time.Sleep(d)
		close(stop)
		wg.Wait()
	}
	var before tally
	run(2*time.Second, &before)

	// The peak resident memory from here on (clear_refs 5 resets
	// VmHWM, Linux 4.0 and later).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Logf("cannot reset the peak RSS (%v): it counts from the process start", err)
	}
	hashesBefore := hashes.Load()

	var (
		during                          tally
		statuses                        sync.Map // status -> *atomic.Int64
		badRetryAfter, sent, sendErrors atomic.Int64
	)
	count := func(status int) {
		v, _ := statuses.LoadOrStore(status, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	stop := make(chan struct{})
	var flood sync.WaitGroup
	for i := range 64 {
		flood.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				var id, xff string
				switch i % 4 {
				case 0:
					id = legitID // the legitimate client's own id
				case 1:
					id = "user-client-opaque" // another client's
				default:
					id = fmt.Sprintf("no-such-client-%d", r.IntN(500))
				}
				if i%8 != 7 { // the rest come from the proxy itself
					xff = fmt.Sprintf("203.0.113.%d, 10.0.%d.%d", r.IntN(250)+1, r.IntN(4), r.IntN(250)+1)
				}
				status, h, err := send(id, fmt.Sprintf("guess-%d", r.Uint64()), xff)
				sent.Add(1)
				if err != nil {
					sendErrors.Add(1)
					continue
				}
				count(status)
				if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
					if s, err := strconv.Atoi(h.Get("Retry-After")); err != nil || s < 1 {
						badRetryAfter.Add(1)
					}
				}
			}
		})
	}
	run(8*time.Second, &during)
	close(stop)
	flood.Wait()
	ran := hashes.Load() - hashesBefore

	got := map[int]int64{}
	statuses.Range(func(k, v any) bool { got[k.(int)] = v.(*atomic.Int64).Load(); return true })
	peak := peakRSS(t)
	rateBefore, rateDuring := float64(before.ok.Load())/2, float64(during.ok.Load())/8
	t.Logf("legitimate client: %.0f tokens/s before the flood, %.0f/s during it (%.2f); flood: %d requests, answers %v, %d slow hashes; peak RSS %d MiB",
		rateBefore, rateDuring, rateDuring/rateBefore, sent.Load(), got, ran, peak>>20)

	if during.failed.Load() > 0 || during.ok.Load() == 0 {
		t.Errorf("legitimate client during the flood: %d tokens, %d failures; want every request served", during.ok.Load(), during.failed.Load())
	}
	for status, n := range got {
		switch status {
		case http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		default:
			t.Errorf("%d flood requests answered %d, want 401, 429 or 503", n, status)
		}
	}
	if got[http.StatusTooManyRequests] == 0 {
		t.Error("no flood request was throttled with 429")
	}
	if n := badRetryAfter.Load(); n > 0 {
		t.Errorf("%d answers 429 or 503 without a Retry-After of whole seconds", n)
	}
	if n := sendErrors.Load(); n > 0 {
		t.Errorf("%d flood requests got no answer within 30s", n)
	}
	// A hash runs only for an answer 401: none for 429 or 503.
	if ran > got[http.StatusUnauthorized] {
		t.Errorf("%d slow hashes for %d answers 401: throttled requests ran the hash", ran, got[http.StatusUnauthorized])
	}
	if raceDetector {
		t.Log("the race detector is on: its shadow memory makes the peak RSS no measure of Sigil's")
	} else if peak > 512<<20 {
		t.Errorf("peak RSS %d MiB under the flood, want it bounded well under 512 MiB", peak>>20)
	}
}

// peakRSS is this process's VmHWM from /proc/self/status, in bytes.
func peakRSS(t *testing.T) int64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("read /proc/self/status: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}
