package main

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/gormstore"
	"github.com/sigilauth/sigil/adapters/secrethash"
)

// TestRotationSendsEveryClientInTurn runs the clients rows' script in
// wrk: every request must carry one of the n clients' credentials, and
// each client must be sent about as often as the others, so that all n
// are active during the row.
func TestRotationSendsEveryClientInTurn(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed (go tool task bench installs it)")
	}
	const n = 7
	want := map[string]bool{}
	for i := range n {
		want[basicAuth(clientID(i), clientSecret)] = true
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("Authorization")]++
		mu.Unlock()
	}))
	defer srv.Close()
	r := rotatingTokenRequest(&sigil{AuthURL: srv.URL}, n)
	if _, err := runWrk(t.Context(), wrk, r, load{Threads: 1, Connections: 4}, time.Second); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	least, most := -1, 0
	for auth, count := range seen {
		if !want[auth] {
			t.Errorf("a request carried %q, no client's credentials", auth)
		}
		if least < 0 || count < least {
			least = count
		}
		most = max(most, count)
	}
	if len(seen) != n || most-least > 4 {
		t.Errorf("%d distinct credentials sent, counts from %d to %d; want all %d, each as often", len(seen), least, most, n)
	}
}

func TestTheOneClientRowSendsTheFirstClientAlone(t *testing.T) {
	lua := rotationLua(1)
	if strings.Count(lua, `"Basic `) != 1 || !strings.Contains(lua, mustLua(basicAuth(clientID(0), clientSecret))) {
		t.Errorf("the one-client script does not hold the first client's credentials alone:\n%s", lua)
	}
}

// The registered clients must authenticate with the secret the rows send:
// the active ones with the cheap parameters, the cold ones with the
// default, each through the adapter sigil reads them with.
func TestSavedClientsAuthenticateWithTheBenchSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sigil.db")
	db, err := gormstore.Open(gormstore.DriverSQLite, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB(db)
	if err := gormstore.Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	if _, err := saveClients(t.Context(), path, 30, 2); err != nil {
		t.Fatal(err)
	}
	clients := gormstore.NewClients(db)
	list, err := clients.ListClients(t.Context())
	if err != nil || len(list) != 32 {
		t.Fatalf("%d clients registered, %v; want 32", len(list), err)
	}
	hasher := secrethash.NewHasher(secrethash.DefaultParams)
	for _, c := range []struct {
		id     string
		params string
	}{{clientID(29), "m=64,t=1,p=1"}, {coldClientID(1), "m=19456,t=2,p=1"}} {
		got, err := clients.FindClient(t.Context(), c.id)
		if err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		if len(got.Secrets) != 1 || !strings.Contains(got.Secrets[0].Hash, "$"+c.params+"$") {
			t.Errorf("%s: secrets %+v, want one hashed with %s", c.id, got.Secrets, c.params)
			continue
		}
		if ok, err := hasher.VerifySecret(got.Secrets[0].Hash, clientSecret); !ok || err != nil {
			t.Errorf("%s: the bench secret does not verify: %v, %v", c.id, ok, err)
		}
		if got.TokenFormat != "opaque" || !got.AllowsAuthMethod("client_secret_basic") {
			t.Errorf("%s: format %s, methods %v; want opaque tokens with client_secret_basic", c.id, got.TokenFormat, got.AuthMethods)
		}
	}
}
