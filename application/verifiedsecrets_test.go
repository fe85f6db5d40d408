package application_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// cachedAuth is an AuthenticateClient with the verified-credential cache
// on, over its own registry, clock and counting hasher.
func cachedAuth(t *testing.T, ttl time.Duration, max int) (*application.AuthenticateClient, *fakes.Clients, *fakes.Clock, *countingHasher) {
	t.Helper()
	clients, clock, hasher := fakes.NewClients(), fakes.NewClock(t0), &countingHasher{}
	auth := newAuthWith(t, clients, hasher, clock, application.AssertionSupport{})
	auth.RememberVerified(ttl, max)
	hasher.verifies.Store(0)
	return auth, clients, clock, hasher
}

func saveWithSecrets(t *testing.T, clients *fakes.Clients, id string, secrets ...domain.ClientSecret) {
	t.Helper()
	c := domain.Client{
		ID: id, Secrets: secrets, TokenFormat: domain.FormatJWT,
		AuthMethods: []domain.AuthMethod{domain.AuthClientSecretBasic},
		GrantTypes:  []domain.GrantType{domain.GrantClientCredentials},
	}
	if err := clients.SaveClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

func basic(id, secret string) application.ClientCredentials {
	return application.ClientCredentials{ID: id, Secret: secret, Method: domain.AuthClientSecretBasic}
}

func TestVerifiedCredentialsCostOneSlowHash(t *testing.T) {
	auth, clients, _, hasher := cachedAuth(t, time.Minute, 100)
	saveWithSecrets(t, clients, "svc", secretOf(t, "a", "right", time.Time{}))
	for range 5 {
		if _, err := auth.Handle(t.Context(), basic("svc", "right")); err != nil {
			t.Fatal(err)
		}
	}
	if n := hasher.verifies.Load(); n != 1 {
		t.Fatalf("5 good requests ran the slow hash %d times, want 1", n)
	}
}

func TestWrongSecretsAlwaysPayTheSlowHash(t *testing.T) {
	auth, clients, _, hasher := cachedAuth(t, time.Minute, 100)
	saveWithSecrets(t, clients, "svc", secretOf(t, "a", "right", time.Time{}))
	if _, err := auth.Handle(t.Context(), basic("svc", "right")); err != nil {
		t.Fatal(err)
	}
	hasher.verifies.Store(0)
	for range 3 {
		if _, err := auth.Handle(t.Context(), basic("svc", "wrong")); !errors.Is(err, domain.ErrInvalidClient) {
			t.Fatalf("wrong secret: %v", err)
		}
	}
	if n := hasher.verifies.Load(); n != 3 {
		t.Fatalf("3 wrong secrets ran the slow hash %d times, want 3", n)
	}
}

func TestCachedCredentialsFollowTheClientRecord(t *testing.T) {
	auth, clients, clock, hasher := cachedAuth(t, time.Hour, 100)
	saveWithSecrets(t, clients, "svc", secretOf(t, "a", "old", t0.Add(time.Hour)))
	if _, err := auth.Handle(t.Context(), basic("svc", "old")); err != nil {
		t.Fatal(err)
	}

	// Rotated out: the old secret is gone from the record.
	saveWithSecrets(t, clients, "svc", secretOf(t, "b", "new", time.Time{}))
	if _, err := auth.Handle(t.Context(), basic("svc", "old")); !errors.Is(err, domain.ErrInvalidClient) {
		t.Fatalf("a rotated-out secret was accepted from the cache: %v", err)
	}

	// Expired: still in the record, but no longer valid.
	saveWithSecrets(t, clients, "svc", secretOf(t, "a", "old", t0.Add(time.Hour)), secretOf(t, "b", "new", time.Time{}))
	if _, err := auth.Handle(t.Context(), basic("svc", "old")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	hasher.verifies.Store(0)
	if _, err := auth.Handle(t.Context(), basic("svc", "old")); !errors.Is(err, domain.ErrInvalidClient) {
		t.Fatalf("an expired secret was accepted from the cache: %v", err)
	}

	// Deleted client: nothing to match.
	if err := clients.DeleteClient(t.Context(), "svc"); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Handle(t.Context(), basic("svc", "new")); !errors.Is(err, domain.ErrInvalidClient) {
		t.Fatalf("a deleted client was accepted: %v", err)
	}
}

func TestCachedCredentialsExpireAndStillCheckTheMethod(t *testing.T) {
	auth, clients, clock, hasher := cachedAuth(t, time.Minute, 100)
	saveWithSecrets(t, clients, "svc", secretOf(t, "a", "right", time.Time{}))
	if _, err := auth.Handle(t.Context(), basic("svc", "right")); err != nil {
		t.Fatal(err)
	}
	post := application.ClientCredentials{ID: "svc", Secret: "right", Method: domain.AuthClientSecretPost}
	if _, err := auth.Handle(t.Context(), post); !errors.Is(err, domain.ErrInvalidClient) {
		t.Fatalf("a cached secret opened a method the client may not use: %v", err)
	}
	clock.Advance(2 * time.Minute)
	hasher.verifies.Store(0)
	if _, err := auth.Handle(t.Context(), basic("svc", "right")); err != nil {
		t.Fatal(err)
	}
	if hasher.verifies.Load() != 1 {
		t.Fatal("an entry older than the ttl skipped the slow hash")
	}
}

func TestVerifiedCredentialsStayWithinTheBound(t *testing.T) {
	auth, clients, _, hasher := cachedAuth(t, time.Hour, 2)
	ids := []string{"a", "b", "c"}
	for _, id := range ids {
		saveWithSecrets(t, clients, id, secretOf(t, "s", "secret-"+id, time.Time{}))
		if _, err := auth.Handle(t.Context(), basic(id, "secret-"+id)); err != nil {
			t.Fatal(err)
		}
	}
	hasher.verifies.Store(0)
	for _, id := range ids {
		if _, err := auth.Handle(t.Context(), basic(id, "secret-"+id)); err != nil {
			t.Fatal(err)
		}
	}
	// Three clients through a cache of two: at least one was forgotten.
	if hasher.verifies.Load() == 0 {
		t.Fatal("three credentials were all remembered by a cache bounded to two")
	}
}

// concurrently sends each of secrets as svc's at the same moment while
// the slow hash is held, releases it once every request has had time to
// reach it, and returns each request's error, in order.
func concurrently(t *testing.T, auth *application.AuthenticateClient, hasher *countingHasher, secrets ...string) []error {
	t.Helper()
	hasher.gate = make(chan struct{})
	errs := make([]error, len(secrets))
	var started, done sync.WaitGroup
	for i, secret := range secrets {
		started.Add(1)
		done.Go(func() {
			started.Done()
			_, errs[i] = auth.Handle(context.Background(), basic("svc", secret))
		})
	}
	started.Wait()
	// Without sharing, every request would now be held inside the hasher.
	time.Sleep(50 * time.Millisecond)
	close(hasher.gate)
	done.Wait()
	return errs
}

func TestRequestsWithTheSameCredentialsShareOneSlowHash(t *testing.T) {
	auth, clients, _, hasher := cachedAuth(t, time.Minute, 100)
	saveWithSecrets(t, clients, "svc", secretOf(t, "a", "right", time.Time{}))
	for i, err := range concurrently(t, auth, hasher, slices.Repeat([]string{"right"}, 8)...) {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	if n := hasher.verifies.Load(); n != 1 {
		t.Errorf("8 simultaneous good requests ran the slow hash %d times, want 1", n)
	}
	// The shared result was remembered: the next request costs no hash.
	if _, err := auth.Handle(t.Context(), basic("svc", "right")); err != nil || hasher.verifies.Load() != 1 {
		t.Errorf("after the shared run: err %v, slow hashes %d, want nil, 1", err, hasher.verifies.Load())
	}
}

func TestSimultaneousWrongSecretsAreAllRefusedAndDifferentOnesNeverShare(t *testing.T) {
	auth, clients, _, hasher := cachedAuth(t, time.Minute, 100)
	saveWithSecrets(t, clients, "svc", secretOf(t, "a", "right", time.Time{}))
	errs := concurrently(t, auth, hasher, "guess-1", "guess-1", "guess-1", "guess-2", "guess-3")
	for i, err := range errs {
		if !errors.Is(err, domain.ErrInvalidClient) {
			t.Errorf("wrong secret %d: %v, want invalid_client", i, err)
		}
	}
	if n := hasher.verifies.Load(); n != 3 {
		t.Errorf("three distinct wrong secrets ran the slow hash %d times, want 3 (one each)", n)
	}
	// A failure is never remembered: the same guess pays again.
	hasher.gate = nil
	if _, err := auth.Handle(t.Context(), basic("svc", "guess-1")); !errors.Is(err, domain.ErrInvalidClient) || hasher.verifies.Load() != 4 {
		t.Errorf("repeated guess: err %v, slow hashes %d, want invalid_client, 4", err, hasher.verifies.Load())
	}
}
