package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// cluster is the deployment of issue 4 on loopback: a Redis Cluster of
// three masters, one PostgreSQL database, two auth nodes behind one public
// issuer, and two resource nodes, each resource node talking to a
// different auth node.
type cluster struct {
	auth     [2]*node
	resource [2]*node
	redis    []string
	dsn      string
	config   func(c *bootstrap.Config) // what every node shares
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	cl := &cluster{redis: testenv.RedisCluster(t)}
	dsn := testenv.PostgresDSN(t)
	cl.dsn = dsn
	prefix := fmt.Sprintf("sigil-mn-%d:", time.Now().UnixNano())
	// The issuer every auth node signs as: the address a load balancer
	// would have. Port of the first auth node, so it resolves.
	authPorts := [2]int{freePort(t), freePort(t)}
	issuer := "http://localhost:" + strconv.Itoa(authPorts[0]) + "/ms-auth-server"
	cl.config = func(c *bootstrap.Config) {
		c.DatabaseDriver, c.DatabaseDSN = "postgres", dsn
		c.KeyEncryptionKey = testKEK
		c.RedisAddr, c.RedisPrefix = strings.Join(cl.redis, ","), prefix
		c.DemoClients = "true"
		c.AuthIssuer = issuer
		// A short schedule, so a staged rotation fits in a test: resource
		// nodes keep the JWKS at most 1s, a new key waits 2s to sign.
		c.KeyPublishLead, c.JWKSMaxAge, c.JWKSMinRefreshInterval = 2*time.Second, time.Second, 100*time.Millisecond
		c.KeySigningPeriod, c.KeyRotationCheck = 0, 200*time.Millisecond
	}

	// The two auth nodes start at the same moment on an empty database.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range cl.auth {
		n, err := newNode(t, func(c *bootstrap.Config) {
			cl.config(c)
			c.Role = bootstrap.RoleAuth
			c.AuthAddr = "127.0.0.1:" + strconv.Itoa(authPorts[i])
		})
		if err != nil {
			t.Fatal(err)
		}
		cl.auth[i] = n
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = n.Start() }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range cl.resource {
		a := cl.auth[i]
		cl.resource[i] = startNode(t, func(c *bootstrap.Config) {
			cl.config(c)
			c.Role = bootstrap.RoleResource
			c.ResourceJWKSURL = a.AuthURL + "/oauth2/jwks"
			c.ResourceIntrospectionURL = a.AuthURL + "/oauth2/introspect"
		})
	}
	return cl
}

func (cl *cluster) admin(t *testing.T) *bootstrap.Admin {
	t.Helper()
	c := bootstrap.Defaults()
	cl.config(&c)
	a, err := bootstrap.OpenAdmin(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestManyNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster and four nodes")
	}
	cl := startCluster(t)
	admin := cl.admin(t)

	t.Run("two nodes starting together migrate once and create one key", func(t *testing.T) {
		keys, err := admin.Keys.ListSigningKeys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 || keys[0].State != domain.KeyActive {
			t.Fatalf("keys after a simultaneous start: %+v, want one active", keys)
		}
		db, err := gormstore.Open("postgres", cl.dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sqlDB, err := db.DB(); err == nil {
			defer sqlDB.Close()
		}
		applied, err := gormstore.AppliedMigrations(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for _, v := range applied {
			if seen[v] {
				t.Fatalf("migration %d applied twice: %v", v, applied)
			}
			seen[v] = true
		}
	})

	t.Run("a token from either auth node works at either resource node", func(t *testing.T) {
		for _, a := range cl.auth {
			for _, token := range []string{
				a.token(t, jwtClient[0], jwtClient[1], "country.read"),
				a.token(t, opaqueClient[0], opaqueClient[1], ""),
			} {
				for _, r := range cl.resource {
					wantCountryAUS(t, get(t, r.ResourceURL+"/country/code/AUS", token))
				}
			}
		}
	})

	t.Run("a rotation forced during steady traffic fails no request", func(t *testing.T) {
		before := jwtHeader(t, cl.auth[0].token(t, jwtClient[0], jwtClient[1], ""))["kid"]
		var failures, requests atomic.Int64
		var lastFailure atomic.Value
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, r := cl.auth[w%2], cl.resource[(w/2)%2]
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := roundTrip(a, r); err != nil {
						failures.Add(1)
						lastFailure.Store(err.Error())
					}
					requests.Add(1)
				}
			}()
		}
		// An auth node's key check may hold the lock at that moment: try
		// again, as the command tells a user to.
		var res application.RotateResult
		var err error
		for range 200 {
			if res, err = admin.Rotate.Handle(context.Background(), application.RotateInput{Force: true}); err != nil || res.Done {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil || res.Published == "" {
			t.Fatalf("forced rotation: %+v %v", res, err)
		}
		// Wait until both auth nodes sign with the new key.
		deadline := time.Now().Add(20 * time.Second)
		for _, a := range cl.auth {
			for jwtHeader(t, a.token(t, jwtClient[0], jwtClient[1], ""))["kid"] != res.Published {
				if time.Now().After(deadline) {
					close(stop)
					wg.Wait()
					t.Fatalf("%s still signs with the old key 20s after a rotation with a 2s lead", a.Config.AuthAddr)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		// Keep the traffic going across the switch a little longer.
		time.Sleep(time.Second)
		close(stop)
		wg.Wait()
		if res.Published == before {
			t.Fatal("the rotation did not change the key")
		}
		t.Logf("%d round trips across the rotation", requests.Load())
		if n := failures.Load(); n > 0 {
			t.Fatalf("%d of %d round trips failed during the rotation; last: %v", n, requests.Load(), lastFailure.Load())
		}
	})

	t.Run("a revocation at one auth node is refused by both resource nodes within a second", func(t *testing.T) {
		jwt := cl.auth[1].token(t, jwtClient[0], jwtClient[1], "country.read")
		opaque := cl.auth[1].token(t, opaqueClient[0], opaqueClient[1], "")
		for _, r := range cl.resource {
			wantCountryAUS(t, get(t, r.ResourceURL+"/country/code/AUS", jwt))
		}
		for _, tc := range []struct {
			owner []string
			token string
		}{{jwtClient, jwt}, {opaqueClient, opaque}} {
			revokedAt := time.Now()
			if r := postForm(t, cl.auth[0].AuthURL+"/oauth2/revoke", url.Values{"token": {tc.token}}, tc.owner); r.Status != 200 {
				t.Fatalf("revoke: %d %s", r.Status, r.Body)
			}
			for _, r := range cl.resource {
				took := waitRefused(t, r, tc.token, revokedAt.Add(time.Second))
				t.Logf("%s refused at %s after %s", tc.owner[0], r.Config.ResourceAddr, took)
			}
		}
		// The auth node stored the opaque token in Redis, in a pipeline.
		if scrape := get(t, "http://"+cl.auth[1].Config.AdminAddr+"/metrics", ""); !bytes.Contains(scrape.Body,
			[]byte("\n"+`sigil_store_call_duration_seconds_count{operation="pipeline",store="redis"} `)) {
			t.Errorf("the auth node's scrape times no Redis pipeline")
		}
		// The feed that carried it, as the metrics of a node that heard it.
		for _, r := range cl.resource {
			scrape := get(t, "http://"+r.Config.AdminAddr+"/metrics", "")
			for _, line := range []string{
				"sigil_feed_connected 1",
				"sigil_feed_subscriptions_total 1",
				`sigil_feed_events_received_total{kind="revoked"} `,
				`sigil_store_call_duration_seconds_count{operation="ping",store="redis"} `,
			} {
				if !bytes.Contains(scrape.Body, []byte("\n"+line)) {
					t.Errorf("%s: the scrape has no line %q", r.Config.AdminAddr, line)

				}
			}
		}
	})

	t.Run("a revoked key is refused by both resource nodes within a second, cached or not", func(t *testing.T) {
		cached := cl.auth[0].token(t, jwtClient[0], jwtClient[1], "country.read")
		uncached := cl.auth[1].token(t, jwtClient[0], jwtClient[1], "country.read")
		kid := jwtHeader(t, cached)["kid"].(string)
		if other := jwtHeader(t, uncached)["kid"]; other != kid {
			t.Fatalf("the auth nodes sign with %s and %v", kid, other)
		}
		// Verified, and so cached, on both resource nodes; uncached is
		// never shown to them before the revocation.
		for _, r := range cl.resource {
			for range 3 {
				wantCountryAUS(t, get(t, r.ResourceURL+"/country/code/AUS", cached))
			}
		}
		// The auth nodes' own key checks hold the lock a moment every
		// 200ms (and other tests on the shared PostgreSQL may take the
		// same advisory lock); the command says so and is tried again, as
		// a user would.
		var res application.RevokeResult
		for range 200 {
			var err error
			if res, err = admin.Rotate.Revoke(context.Background(), kid); err != nil {
				t.Fatalf("revoke %s: %v", kid, err)
			}
			if res.Done {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !res.Done || res.Published == "" {
			t.Fatalf("revoke %s: %+v", kid, res)
		}
		// From the moment the key left the store (the command also made
		// the key that took over, an RSA key, before that).
		revokedAt := time.Now()
		for _, r := range cl.resource {
			for name, tok := range map[string]string{"cached": cached, "uncached": uncached} {
				waitRefused(t, r, tok, revokedAt.Add(time.Second))
				t.Logf("%s refused the %s token %s after the revocation",
					r.Config.ResourceAddr, name, time.Since(revokedAt).Round(time.Millisecond))
			}
		}
		for _, a := range cl.auth {
			waitInactive(t, a, cached, revokedAt.Add(time.Second))
		}
		// Signing went on with the key made in its place, at both nodes.
		deadline := time.Now().Add(5 * time.Second)
		for _, a := range cl.auth {
			for _, r := range cl.resource {
				for {
					err := roundTrip(a, r)
					if err == nil {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("no working token from %s at %s after the revocation: %v", a.Config.AuthAddr, r.Config.ResourceAddr, err)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}
		if r := get(t, cl.auth[1].AuthURL+"/oauth2/jwks", ""); strings.Contains(string(r.Body), kid) {
			t.Fatalf("the JWKS still lists the revoked key: %s", r.Body)
		}
	})

	t.Run("a resource node that lost the feed catches up", func(t *testing.T) {
		jwt := cl.auth[0].token(t, jwtClient[0], jwtClient[1], "country.read")
		claims := claimsOf(t, jwt)
		for _, r := range cl.resource {
			wantCountryAUS(t, get(t, r.ResourceURL+"/country/code/AUS", jwt))
		}
		// A revocation whose message never arrived: only the deny list in
		// Redis knows it, as when the nodes were cut off while it was sent.
		c := bootstrap.Defaults()
		cl.config(&c)
		rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.redis})
		defer rc.Close()
		exp := time.Unix(int64(claims["exp"].(float64)), 0)
		if err := redisstore.NewDenyList(rc, c.RedisPrefix).Deny(context.Background(), claims["jti"].(string), exp); err != nil {
			t.Fatal(err)
		}
		if r := get(t, cl.resource[0].ResourceURL+"/country/code/AUS", jwt); r.Status != 200 {
			t.Fatalf("the token was refused before any node could know: %d", r.Status)
		}
		// Cut every subscriber off; on resubscribing, the nodes catch up.
		for _, addr := range cl.redis {
			c := redis.NewClient(&redis.Options{Addr: addr})
			_ = c.Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err()
			c.Close()
		}
		for _, r := range cl.resource {
			took := waitRefused(t, r, jwt, time.Now().Add(15*time.Second))
			t.Logf("%s caught up after %s", r.Config.ResourceAddr, took)
		}
	})
}

// roundTrip gets a JWT from a and uses it at r, as a client of the
// deployment does; any answer but the country is a failure.
func roundTrip(a, r *node) error {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"country.read"}}
	req, _ := http.NewRequest(http.MethodPost, a.AuthURL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(jwtClient[0], jwtClient[1])
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("token: %d %v", resp.StatusCode, err)
	}
	req, _ = http.NewRequest(http.MethodGet, r.ResourceURL+"/country/code/AUS", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = httpClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("resource %s: %d %s", r.Config.ResourceAddr, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	return nil
}

// waitRefused polls r with token until it answers 401, failing the test
// at deadline; it returns how long that took.
func waitRefused(t *testing.T, r *node, token string, deadline time.Time) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		resp := get(t, r.ResourceURL+"/country/code/AUS", token)
		if resp.Status == http.StatusUnauthorized {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts a revoked token (%d) after the deadline", r.Config.ResourceAddr, resp.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitInactive polls introspection at a until it answers the token
// inactive, failing the test at deadline.
func waitInactive(t *testing.T, a *node, token string, deadline time.Time) {
	t.Helper()
	for {
		r := postForm(t, a.AuthURL+"/oauth2/introspect", url.Values{"token": {token}}, jwtClient)
		if r.Status == http.StatusOK && r.JSON(t)["active"] == false {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still introspects a token of a revoked key as active: %d %s", a.Config.AuthAddr, r.Status, r.Body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
