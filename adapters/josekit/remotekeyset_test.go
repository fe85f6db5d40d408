package josekit_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

const (
	minRefresh = 10 * time.Second
	maxAge     = 5 * time.Minute
)

// jwksServer is an authorization server's JWKS endpoint that counts hits
// and can be made to fail or to hold requests.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64

	mu     sync.Mutex
	body   []byte
	status int
	gate   chan struct{} // if set, requests wait for it to close
}

func newJWKSServer(t *testing.T, keys ...domain.SigningKey) *jwksServer {
	t.Helper()
	s := &jwksServer{status: http.StatusOK}
	s.setKeys(t, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		body, status, gate := s.body, s.status, s.gate
		s.mu.Unlock()
		if gate != nil {
			<-gate
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setKeys(t *testing.T, keys ...domain.SigningKey) {
	t.Helper()
	doc, err := josekit.NewKeySetEncoder().EncodeJWKS(keys)
	if err != nil {
		t.Fatal(err)
	}
	s.setBody(doc)
}

func (s *jwksServer) setBody(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = b
}

func (s *jwksServer) setStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = code
}

func (s *jwksServer) hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gate := make(chan struct{})
	s.gate = gate
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.gate = nil
			s.mu.Unlock()
			close(gate)
		})
	}
}

func newRemote(s *jwksServer, clock *fakes.Clock, log *slog.Logger) *josekit.RemoteKeySet {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return josekit.NewRemoteKeySet(s.URL, s.Client(), josekit.RemoteKeySetOptions{
		MinRefreshInterval: minRefresh,
		MaxAge:             maxAge,
		Clock:              clock,
		Logger:             log,
	})
}

func assertKey(t *testing.T, r *josekit.RemoteKeySet, want domain.SigningKey) {
	t.Helper()
	pub, alg, err := r.VerificationKey(context.Background(), want.ID)
	if err != nil {
		t.Fatalf("VerificationKey(%s): %v", want.ID, err)
	}
	if alg != want.Algorithm || !pub.(*rsa.PublicKey).Equal(want.Public()) {
		t.Fatalf("VerificationKey(%s) = %T %s, want the published key", want.ID, pub, alg)
	}
}

func assertHits(t *testing.T, s *jwksServer, want int64) {
	t.Helper()
	if got := s.hits.Load(); got != want {
		t.Fatalf("jwks endpoint hit %d times, want %d", got, want)
	}
}

func TestRemoteKeySetCachesAKnownKid(t *testing.T) {
	a := rsaKey(t, 0)
	s := newJWKSServer(t, a)
	r := newRemote(s, fakes.NewClock(epoch), nil)
	for range 10 {
		assertKey(t, r, a)
	}
	assertHits(t, s, 1)
}

func TestRemoteKeySetUnknownKidFloodFetchesAtMostOncePerInterval(t *testing.T) {
	a := rsaKey(t, 0)
	s := newJWKSServer(t, a)
	clock := fakes.NewClock(epoch)
	r := newRemote(s, clock, nil)
	assertKey(t, r, a)

	flood := func() {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := range 100 {
			wg.Go(func() {
				_, _, err := r.VerificationKey(context.Background(), fmt.Sprintf("junk-%d-%d", i, clock.Now().Unix()))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("unknown kid: err = %v, want not found", err)
			}
		}
	}

	// Within the interval of the first fetch: nothing at all.
	flood()
	assertHits(t, s, 1)

	// Past it: exactly one fetch, shared by every request that waits.
	clock.Advance(minRefresh)
	release := s.hold()
	done := make(chan struct{})
	go func() { flood(); close(done) }()
	release()
	<-done
	assertHits(t, s, 2)

	flood()
	assertHits(t, s, 2)
}

func TestRemoteKeySetPicksUpARotatedKeyAfterTheInterval(t *testing.T) {
	a, b := rsaKey(t, 0), rsaKey(t, 1)
	s := newJWKSServer(t, a)
	clock := fakes.NewClock(epoch)
	r := newRemote(s, clock, nil)
	assertKey(t, r, a)

	s.setKeys(t, a, b)
	if _, _, err := r.VerificationKey(context.Background(), b.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("new kid within the interval: err = %v, want not found", err)
	}
	assertHits(t, s, 1)

	clock.Advance(minRefresh)
	assertKey(t, r, b)
	assertKey(t, r, a)
	assertHits(t, s, 2)
}

func TestRemoteKeySetRefreshesInTheBackgroundAfterMaxAge(t *testing.T) {
	a, b := rsaKey(t, 0), rsaKey(t, 1)
	s := newJWKSServer(t, a)
	clock := fakes.NewClock(epoch)
	r := newRemote(s, clock, nil)
	assertKey(t, r, a)

	s.setKeys(t, b) // a is withdrawn
	clock.Advance(maxAge)
	assertKey(t, r, a) // still answered from the cache...
	r.WaitIdle()       // ...while the refresh runs
	assertHits(t, s, 2)

	if _, _, err := r.VerificationKey(context.Background(), a.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("withdrawn kid after refresh: err = %v, want not found", err)
	}
	assertKey(t, r, b)
	assertHits(t, s, 2)
}

func TestRemoteKeySetServerDownWithNothingCached(t *testing.T) {
	for name, breakIt := range map[string]func(*jwksServer){
		"500":                func(s *jwksServer) { s.setStatus(http.StatusInternalServerError) },
		"404":                func(s *jwksServer) { s.setStatus(http.StatusNotFound) },
		"bad JSON":           func(s *jwksServer) { s.setBody([]byte(`{"keys":[`)) },
		"not a key set":      func(s *jwksServer) { s.setBody([]byte(`{"issuer":"x"}`)) },
		"HTML":               func(s *jwksServer) { s.setBody([]byte(`<html>login</html>`)) },
		"oversized":          func(s *jwksServer) { s.setBody([]byte(`{"keys":[],"x":"` + strings.Repeat("a", 2<<20) + `"}`)) },
		"connection refused": func(s *jwksServer) { s.Close() },
	} {
		t.Run(name, func(t *testing.T) {
			s := newJWKSServer(t, rsaKey(t, 0))
			breakIt(s)
			r := newRemote(s, fakes.NewClock(epoch), nil)
			for range 2 {
				_, _, err := r.VerificationKey(context.Background(), rsaKey(t, 0).ID)
				if !errors.Is(err, domain.ErrTemporarilyUnavailable) || errors.Is(err, domain.ErrNotFound) {
					t.Fatalf("err = %v, want temporarily unavailable", err)
				}
			}
			if hits := s.hits.Load(); hits > 1 {
				t.Errorf("jwks endpoint hit %d times within the interval, want at most 1", hits)
			}
		})
	}
}

func TestRemoteKeySetServerDownWithTheKidCached(t *testing.T) {
	a := rsaKey(t, 0)
	s := newJWKSServer(t, a)
	clock := fakes.NewClock(epoch)
	r := newRemote(s, clock, nil)
	assertKey(t, r, a)

	s.setStatus(http.StatusServiceUnavailable)
	clock.Advance(maxAge)
	assertKey(t, r, a)
	r.WaitIdle()
	assertHits(t, s, 2)
	assertKey(t, r, a)

	s.Close()
	clock.Advance(maxAge)
	assertKey(t, r, a)
	r.WaitIdle()
	assertKey(t, r, a)

	// And a token signed with it still verifies end to end.
	v := josekit.NewVerifier(r, josekit.VerifierOptions{Issuer: issuer, Clock: fakes.NewClock(epoch)})
	if _, err := v.VerifyAccessToken(context.Background(), sign(t, a, token())); err != nil {
		t.Errorf("verify with the cached key while the server is down: %v", err)
	}
}

func TestRemoteKeySetFeedsTheVerifier(t *testing.T) {
	a, b := rsaKey(t, 0), rsaKey(t, 1)
	s := newJWKSServer(t, a)
	v := josekit.NewVerifier(newRemote(s, fakes.NewClock(epoch), nil), josekit.VerifierOptions{Issuer: issuer, Clock: fakes.NewClock(epoch)})

	got, err := v.VerifyAccessToken(context.Background(), sign(t, a, token()))
	if err != nil || got.ClientID != "service-client-jwt" {
		t.Fatalf("verify = %+v, %v", got, err)
	}
	_, err = v.VerifyAccessToken(context.Background(), sign(t, b, token()))
	assertInvalid(t, err, "unknown signing key")
}

func TestRemoteKeySetKeepsOnlyUsableSigningKeys(t *testing.T) {
	a := rsaKey(t, 0)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaJWK := jwkOf(t, a)
	priv := rsaPrivate(a)
	ecJWK := jwkOf(t, domain.SigningKey{ID: "ec", Algorithm: "ES256", Private: ec})
	smallJWK := edit(rsaJWK, map[string]any{"n": base64.RawURLEncoding.EncodeToString(small.N.Bytes())})

	keys := []any{
		edit(rsaJWK, map[string]any{"kid": "rsa-bare", "alg": nil, "use": nil}),
		edit(rsaJWK, map[string]any{"kid": "rsa-sig"}),
		edit(rsaJWK, map[string]any{"kid": "rsa-enc", "use": "enc"}),
		edit(rsaJWK, map[string]any{"kid": "rsa-hs256", "alg": "HS256"}),
		edit(rsaJWK, map[string]any{"kid": "rsa-none", "alg": "none"}),
		edit(rsaJWK, map[string]any{"kid": "rsa-private", "d": b64(priv.D.Bytes()), "p": b64(priv.Primes[0].Bytes()), "q": b64(priv.Primes[1].Bytes())}),
		edit(rsaJWK, map[string]any{"kid": "rsa-broken", "n": "!!"}),
		edit(rsaJWK, map[string]any{"kid": nil}),
		edit(ecJWK, map[string]any{"kid": "ec-bare", "alg": nil}),
		edit(ecJWK, map[string]any{"kid": "ec-wrong-curve", "alg": "ES384"}),
		edit(smallJWK, map[string]any{"kid": "rsa-1024"}),
		map[string]any{"kty": "oct", "kid": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"},
		map[string]any{"kty": "OKP", "kid": "ed", "crv": "X448", "x": "AAAA"},
		"not an object",
		edit(jwkOf(t, rsaKey(t, 1)), map[string]any{"kid": "rsa-sig"}), // duplicate kid: first wins
	}
	body, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	s := newJWKSServer(t)
	s.setBody(body)
	var logs bytes.Buffer
	r := newRemote(s, fakes.NewClock(epoch), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))

	kept := map[string]domain.Algorithm{"rsa-bare": domain.RS256, "rsa-sig": domain.RS256, "ec-bare": "ES256"}
	for _, kid := range []string{"rsa-bare", "rsa-sig", "rsa-enc", "rsa-hs256", "rsa-none", "rsa-private", "rsa-broken", "ec-bare", "ec-wrong-curve", "rsa-1024", "oct", "ed"} {
		pub, alg, err := r.VerificationKey(context.Background(), kid)
		want, ok := kept[kid]
		switch {
		case ok && (err != nil || alg != want):
			t.Errorf("%s: alg %q err %v, want kept as %s", kid, alg, err, want)
		case ok && want == domain.RS256 && !pub.(*rsa.PublicKey).Equal(a.Public()):
			t.Errorf("%s: wrong key kept", kid)
		case !ok && !errors.Is(err, domain.ErrNotFound):
			t.Errorf("%s: err = %v, want not found (skipped)", kid, err)
		}
	}
	assertHits(t, s, 1)
	// A published private key is refused before go-jose parses it, and
	// neither its material nor the public key reaches the log.
	if !strings.Contains(logs.String(), `kid=rsa-private reason="carries private key material"`) {
		t.Errorf("private key not refused as such:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), b64(priv.D.Bytes())[:16]) || strings.Contains(logs.String(), rsaJWK["n"].(string)[:16]) {
		t.Errorf("log contains key material:\n%s", logs.String())
	}
}

func jwkOf(t *testing.T, k domain.SigningKey) map[string]any {
	t.Helper()
	doc, err := josekit.NewKeySetEncoder().EncodeJWKS([]domain.SigningKey{k})
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	return set.Keys[0]
}

// edit copies jwk with changes applied; a nil value deletes the member.
func edit(jwk map[string]any, changes map[string]any) map[string]any {
	out := make(map[string]any, len(jwk))
	for k, v := range jwk {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func TestRemoteKeySetLogsAnOutageOnceAndNoKeyMaterial(t *testing.T) {
	a := rsaKey(t, 0)
	s := newJWKSServer(t, a)
	s.setStatus(http.StatusBadGateway)
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := fakes.NewClock(epoch)
	r := newRemote(s, clock, log)

	for range 3 {
		_, _, _ = r.VerificationKey(context.Background(), a.ID)
		clock.Advance(minRefresh)
	}
	assertHits(t, s, 3)
	s.setStatus(http.StatusOK)
	assertKey(t, r, a)

	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if n := strings.Count(out, "jwks fetch failed"); n != 1 {
		t.Errorf("logged the failure %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "jwks fetch recovered") {
		t.Errorf("recovery not logged:\n%s", out)
	}
	if n := jwkOf(t, a)["n"].(string); strings.Contains(out, n[:16]) {
		t.Errorf("log contains key material:\n%s", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestRemoteKeySetWaiterGivesUpWithItsContext(t *testing.T) {
	a := rsaKey(t, 0)
	s := newJWKSServer(t, a)
	release := s.hold()
	defer release()
	r := newRemote(s, fakes.NewClock(epoch), nil)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := r.VerificationKey(ctx, a.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context canceled", err)
	}
	// The shared fetch carries on for the others.
	release()
	r.WaitIdle()
	assertKey(t, r, a)
	assertHits(t, s, 1)
}

func TestRemoteKeySetRefresh(t *testing.T) {
	a := rsaKey(t, 0)
	s := newJWKSServer(t, a)
	r := newRemote(s, fakes.NewClock(epoch), nil)
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	assertKey(t, r, a)
	assertHits(t, s, 1)

	s.setStatus(http.StatusInternalServerError)
	if err := r.Refresh(context.Background()); !errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Errorf("refresh against a failing server: err = %v, want temporarily unavailable", err)
	}
	assertKey(t, r, a)
}

func TestRemoteKeySetForgetDropsARemovedKey(t *testing.T) {
	a, b := rsaKey(t, 0), rsaKey(t, 1)
	s := newJWKSServer(t, a, b)
	r := newRemote(s, fakes.NewClock(epoch), nil)
	assertKey(t, r, a)
	r.Forget(a.ID)
	// The removal lets one fetch go at once, for a successor key; the
	// server still lists the removed key, which stays gone all the same.
	if _, _, err := r.VerificationKey(context.Background(), a.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a forgotten key still verifies: %v", err)
	}
	assertHits(t, s, 2)
	// After that fetch the refresh interval holds again.
	if _, _, err := r.VerificationKey(context.Background(), "made-up"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("an unknown kid: %v", err)
	}
	assertKey(t, r, b)
	assertHits(t, s, 2)
}

// A key dropped on the feed stays out of every later set, even one
// fetched from an authorization server that has not reloaded yet and
// still lists it; the keys beside it stay trusted.
func TestRemoteKeySetForgottenKeyNeverComesBack(t *testing.T) {
	a, b := rsaKey(t, 0), rsaKey(t, 1)
	s := newJWKSServer(t, a, b)
	clock := fakes.NewClock(epoch)
	r := newRemote(s, clock, nil)
	assertKey(t, r, a)
	if !r.TrustsKey(a.ID) || !r.TrustsKey(b.ID) {
		t.Fatal("keys of the fetched set are not trusted")
	}
	r.Forget(a.ID)
	if r.TrustsKey(a.ID) {
		t.Fatal("a forgotten key is still trusted")
	}
	clock.Advance(minRefresh)
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.TrustsKey(a.ID) {
		t.Fatal("a refresh from a server still listing the removed key brought it back")
	}
	if _, _, err := r.VerificationKey(context.Background(), a.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a removed key verifies again after a refresh: %v", err)
	}
	if !r.TrustsKey(b.ID) {
		t.Fatal("the other key lost its trust")
	}
}

// A refresh that no longer lists a key ends the trust in it at once.
func TestRemoteKeySetRefreshWithoutAKeyEndsItsTrust(t *testing.T) {
	a, b := rsaKey(t, 0), rsaKey(t, 1)
	s := newJWKSServer(t, a, b)
	r := newRemote(s, fakes.NewClock(epoch), nil)
	if r.TrustsKey(a.ID) {
		t.Fatal("a key is trusted before any fetch")
	}
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.setKeys(t, b)
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.TrustsKey(a.ID) || !r.TrustsKey(b.ID) || r.TrustsKey("") {
		t.Fatalf("trust after a refresh without %s: a=%v b=%v", a.ID, r.TrustsKey(a.ID), r.TrustsKey(b.ID))
	}
}
