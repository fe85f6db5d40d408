package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/adapters/secrethash"
	"github.com/sigilauth/sigil/domain"
)

// The clients rows (issue 10) measure the token endpoint with many
// distinct active clients rather than one hot one.
//
// activeClients is the bound of sigil's client cache
// (bootstrap.AuthRole's NewClientCache): this many clients in turn fill
// it exactly, so every one stays cached, and the verified-credential
// cache (bound 100,000) holds one entry per client. coldClients more are
// registered with the default hash for the first-pass figure; they are
// met after the rows, when the client cache is full.
const (
	activeClients = 10_000
	coldClients   = 100
	clientSecret  = "bench-client-secret-0123456789abcdef"
)

// clientID is the id of the i-th active client.
func clientID(i int) string { return fmt.Sprintf("bench-client-%05d", i) }

// coldClientID is the id of the i-th client of the first-pass figure.
func coldClientID(i int) string { return fmt.Sprintf("bench-cold-%03d", i) }

// warmHash are the argon2id parameters of the active clients' secrets:
// argon2id as every Sigil secret, at a cost that lets the first pass over
// 10,000 clients take seconds. The rows are measured after it, when every
// credential is cached and no request runs the hash, so the parameters do
// not reach what the rows measure; the cost of a first pass with the
// default parameters is measured on the cold clients (coldPass).
var warmHash = secrethash.Params{MemoryKiB: 64, Time: 1, Threads: 1}

// benchClient is one registered client: opaque tokens in Redis and the
// demo opaque client's scopes, lifetime and methods, so that its token
// request does what user-client-opaque's does.
func benchClient(id, hash string) domain.Client {
	return domain.Client{
		ID:            id,
		Secrets:       []domain.ClientSecret{{ID: "bench", Hash: hash}},
		AuthMethods:   []domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthClientSecretPost},
		GrantTypes:    []domain.GrantType{domain.GrantClientCredentials},
		AllowedScopes: domain.NewScopes("country.read"),
		DefaultScopes: domain.NewScopes("country.read"),
		TokenFormat:   domain.FormatOpaque,
		TokenLifetime: 4 * time.Hour,
	}
}

// registerClients writes the active and cold clients into the SQLite
// database of the running sigil s through the store adapter
// (gormstore.Clients.SaveClient), in one transaction. Each client's
// credential cache entry is its own, keyed by client id and secret, so
// the clients share one secret and one hash of it: hashing 10,100 secrets
// would cost minutes and measure nothing the rows see.
func registerClients(ctx context.Context, s *sigil) (time.Duration, error) {
	// sigil runs with the default --database-dsn, sigil.db in its
	// working directory; SQLite lets a second process write between its
	// statements.
	return saveClients(ctx, filepath.Join(s.dir, "sigil.db"), activeClients, coldClients)
}

// saveClients registers active clients with the cheap hash and cold ones
// with the default hash in the SQLite database at path.
func saveClients(ctx context.Context, path string, active, cold int) (time.Duration, error) {
	start := time.Now()
	warm, err := secrethash.NewHasher(warmHash).HashSecret(clientSecret)
	if err != nil {
		return 0, err
	}
	slow, err := secrethash.NewHasher(secrethash.DefaultParams).HashSecret(clientSecret)
	if err != nil {
		return 0, err
	}
	db, err := gormstore.Open(gormstore.DriverSQLite, path, nil)
	if err != nil {
		return 0, err
	}
	defer closeDB(db)
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		clients := gormstore.NewClients(tx)
		for i := range active {
			if err := clients.SaveClient(ctx, benchClient(clientID(i), warm)); err != nil {
				return err
			}
		}
		for i := range cold {
			if err := clients.SaveClient(ctx, benchClient(coldClientID(i), slow)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("register clients: %w", err)
	}
	return time.Since(start), nil
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// rotationLua makes each request carry the next of n clients' Basic
// credentials in turn, so that n clients are active at once. The one-
// client row runs the same script with n = 1, so that wrk spends the same
// per request on both rows. Each wrk thread starts at its own place in
// the list.
func rotationLua(n int) string {
	var b strings.Builder
	b.WriteString("local auth = {\n")
	for i := range n {
		fmt.Fprintf(&b, "%s,\n", mustLua(basicAuth(clientID(i), clientSecret)))
	}
	b.WriteString(`}
local threads = 0
setup = function(thread)
  thread:set("first", threads * 7919)
  threads = threads + 1
end
local n = nil
request = function()
  if n == nil then n = (first or 0) % #auth end
  n = n % #auth + 1
  wrk.headers["Authorization"] = auth[n]
  return wrk.format()
end
`)
	return b.String()
}

// rotatingTokenRequest is the token request of the first n active clients
// in turn; its Header, used by the probe, is the first client's.
func rotatingTokenRequest(s *sigil, n int) request {
	r := tokenRequest(s, clientID(0), clientSecret)
	r.Lua = rotationLua(n)
	return r
}

// pass sends one token request for each of n clients, parallel requests
// at a time, and returns how long that took and how many answers were
// 503 (a dependency slow to answer, or every hash slot taken for longer
// than --hash-queue-wait, as on a loaded machine), which it sends again
// after Retry-After, as a client would. Every client must get a token in
// the end: the pass is what puts the clients in sigil's caches.
func pass(ctx context.Context, s *sigil, ids func(int) string, n, parallel int) (took time.Duration, retried int, err error) {
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: parallel},
	}
	defer client.CloseIdleConnections()
	var (
		next     atomic.Int64
		busy     atomic.Int64
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range parallel {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				r := tokenRequest(s, ids(i), clientSecret)
				for attempt := 1; ; attempt++ {
					wait, err := sendToken(ctx, client, r)
					if err == nil {
						break
					}
					if wait == 0 || attempt == maxAttempts {
						once.Do(func() { firstErr = fmt.Errorf("client %s: %w", ids(i), err) })
						return
					}
					busy.Add(1)
					select {
					case <-time.After(wait):
					case <-ctx.Done():
						once.Do(func() { firstErr = ctx.Err() })
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), int(busy.Load()), firstErr
}

// maxAttempts bounds the tries of one client's request in a pass.
const maxAttempts = 10

// sendToken sends a token request. It returns nil for a token; for a 503
// the error and how long to wait before trying again (Retry-After, RFC
// 9110 §10.2.3, in seconds, or 100 ms without one); for anything else the
// error alone.
func sendToken(ctx context.Context, client *http.Client, r request) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, strings.NewReader(r.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	switch resp.StatusCode {
	case http.StatusOK:
		return 0, nil
	case http.StatusServiceUnavailable:
		wait := 100 * time.Millisecond
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			wait = time.Duration(secs) * time.Second
		}
		return wait, fmt.Errorf("token: %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return 0, fmt.Errorf("token: %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
}

// hashSlots is sigil's default --hash-concurrency on this machine: half
// of GOMAXPROCS, at least one (bootstrap). The cold pass sends that many
// requests at a time, so that none waits for a slot.
func hashSlots() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// runClientsNode starts the sigil of the clients rows, registers the
// clients (clients.go) and measures, in this order: one client alone; a
// first pass that puts every active client in the caches; all of them in
// turn; and a first pass over the cold clients, whose secrets have the
// default hash. It returns the figures of the two passes.
func runClientsNode(ctx context.Context, o options, bin, wrk string, nc nodeConfig, todo []scenario, result func(string) *row) []figure {
	fail := func(err error) {
		for _, sc := range todo {
			record(result(sc.Name), measurement{}, err)
		}
	}
	logf("starting sigil --key-algorithm %s for the clients rows", nc.KeyAlgorithm)
	s, err := startSigil(ctx, bin, nc)
	if err != nil {
		logf("%v", err)
		fail(fmt.Errorf("sigil --key-algorithm %s did not start", nc.KeyAlgorithm))
		return nil
	}
	defer s.stop()
	took, err := registerClients(ctx, s)
	if err != nil {
		fail(err)
		return nil
	}
	logf("registered %s clients through gormstore.Clients in %s", formatCount(activeClients+coldClients), took.Round(100*time.Millisecond))
	// The one-client row, the reference, first.
	compared := func(sc scenario) int {
		if sc.Reference == "" {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(todo, func(a, b scenario) int { return cmp.Compare(compared(a), compared(b)) })
	var figures []figure
	for _, sc := range todo {
		if sc.Name == manyClients {
			f := warmPass(ctx, s)
			figures = append(figures, f)
			if f.Failure != "" {
				record(result(sc.Name), measurement{}, fmt.Errorf("first pass: %s", f.Failure))
				continue
			}
		}
		m, err := runOne(ctx, o, wrk, sc, s, tokens{})
		record(result(sc.Name), m, err)
	}
	if result(manyClients) != nil {
		figures = append(figures, coldPass(ctx, s))
	}
	return figures
}

// warmPass sends the first request of every active client, which puts
// it in the client and credential caches.
func warmPass(ctx context.Context, s *sigil) figure {
	f := figure{Name: fmt.Sprintf("first pass over %s clients, cheap argon2id", formatCount(activeClients))}
	logf("%s", f.Name)
	const parallel = 8
	took, retried, err := pass(ctx, s, clientID, activeClients, parallel)
	if err != nil {
		f.Failure = err.Error()
		return f
	}
	f.Value = took.Round(100 * time.Millisecond).String()
	f.How = fmt.Sprintf("one token request per client, %d at a time, before the row (%s/s): "+
		"each client read from SQLite, its secret verified with argon2id m=%d KiB, t=%d, and both cached%s",
		parallel, formatRate(float64(activeClients)/took.Seconds()), warmHash.MemoryKiB, warmHash.Time, retries(retried))
	return f
}

// coldPass measures the first request of the cold clients, whose secrets
// have the default argon2id parameters: a sigil that restarts, or meets
// new clients, pays this once per client.
func coldPass(ctx context.Context, s *sigil) figure {
	f := figure{Name: "first request of a client, default argon2id"}
	logf("%s: %d clients", f.Name, coldClients)
	parallel := hashSlots()
	took, retried, err := pass(ctx, s, coldClientID, coldClients, parallel)
	if err != nil {
		f.Failure = err.Error()
		return f
	}
	rate := float64(coldClients) / took.Seconds()
	perSlot := took * time.Duration(hashSlots()) / coldClients
	refresh := float64(activeClients) / defaultCredentialTTL.Seconds()
	f.Value = fmt.Sprintf("%s a client", perSlot.Round(100*time.Microsecond))
	f.How = fmt.Sprintf("%d new clients, one per hash slot at a time, in %s: %s clients/s on %d slot(s). "+
		"A first pass over %s clients takes %s; at steady state each is verified again every --credential-cache-ttl (%s): "+
		"%.1f verifications/s, %.0f%% of the slots%s",
		coldClients, took.Round(10*time.Millisecond), formatRate(rate), hashSlots(),
		formatCount(activeClients), time.Duration(float64(activeClients)/rate*float64(time.Second)).Round(time.Second),
		defaultCredentialTTL, refresh, 100*refresh/rate, retries(retried))
	return f
}

// retries notes the 503s a pass sent again.
func retries(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; %d answers were 503 and sent again after Retry-After, time included", n)
}

// defaultCredentialTTL is sigil's --credential-cache-ttl default.
const defaultCredentialTTL = 10 * time.Minute
