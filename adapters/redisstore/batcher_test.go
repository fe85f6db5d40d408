package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

func batchToken(value string) domain.Token {
	return domain.Token{
		Value: value, Format: domain.FormatOpaque, ID: "jti-" + value, ClientID: "c-" + value, Subject: "c",
		Scopes: domain.NewScopes("country.read"), ExpiresAt: time.Now().Add(time.Hour),
	}
}

// Concurrent saves and finds share pipelines: each caller gets its own
// answer, a miss is a miss among hits, and a caller whose context has
// ended sends nothing. The pipelines are what the benchmark measures; this
// is what they must get right.
func TestConcurrentSavesAndFindsEachGetTheirOwnAnswer(t *testing.T) {
	client, prefix := testenv.Redis(t)
	store := NewTokens(client, prefix)
	t.Cleanup(func() { _ = store.Close(context.Background()) })

	const workers, rounds = 16, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				value := fmt.Sprintf("w%d-r%d", w, i)
				if err := store.SaveToken(t.Context(), batchToken(value)); err != nil {
					t.Errorf("save %s: %v", value, err)
					return
				}
				got, err := store.FindToken(t.Context(), value)
				if err != nil || got.ID != "jti-"+value || got.ClientID != "c-"+value || got.Value != value {
					t.Errorf("find %s: %+v, %v; want its own token", value, got, err)
				}
				if _, err := store.FindToken(t.Context(), "missing-"+value); !errors.Is(err, domain.ErrNotFound) {
					t.Errorf("find of a value never saved: %v, want not found", err)
				}

				// A context already ended: nothing is sent.
				done, cancel := context.WithCancel(t.Context())
				cancel()
				gone := "cancelled-" + value
				if err := store.SaveToken(done, batchToken(gone)); !errors.Is(err, context.Canceled) {
					t.Errorf("save with a cancelled context: %v", err)
				}
				if _, err := store.FindToken(done, value); !errors.Is(err, context.Canceled) {
					t.Errorf("find with a cancelled context: %v", err)
				}
				if _, err := store.FindToken(t.Context(), gone); !errors.Is(err, domain.ErrNotFound) {
					t.Errorf("a save whose context had ended was stored: %v", err)
				}

				// A context that ends while the command waits: either it
				// was sent and saved, or it failed with the context's error
				// and nothing was stored.
				short, cancelShort := context.WithTimeout(t.Context(), time.Duration(i%4)*50*time.Microsecond)
				racing := "racing-" + value
				err = store.SaveToken(short, batchToken(racing))
				cancelShort()
				_, found := store.FindToken(t.Context(), racing)
				switch {
				case err == nil && found != nil:
					t.Errorf("a save that succeeded is not found: %v", found)
				case err != nil && !errors.Is(err, context.DeadlineExceeded):
					t.Errorf("a save whose context ran out: %v, want its deadline", err)
				case err != nil && !errors.Is(found, domain.ErrNotFound):
					t.Errorf("a save that failed on its deadline was stored: %v", found)
				}
			}
		})
	}
	wg.Wait()
}

// Close sends what is queued, then refuses: no command is lost silently,
// and nothing is sent after it.
func TestCloseSendsWhatIsQueuedThenRefuses(t *testing.T) {
	client, prefix := testenv.Redis(t)
	store := NewTokens(client, prefix)

	const callers = 64
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { errs[i] = store.SaveToken(t.Context(), batchToken(fmt.Sprint("t", i))) })
	}
	time.Sleep(time.Millisecond)
	if err := store.Close(t.Context()); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()
	check := NewTokens(client, prefix)
	defer check.Close(context.Background())
	saved := 0
	for i, err := range errs {
		_, found := check.FindToken(t.Context(), fmt.Sprint("t", i))
		switch {
		case err == nil:
			saved++
			if found != nil {
				t.Errorf("save %d answered nil but is not stored: %v", i, found)
			}
		case errors.Is(err, errClosed):
			if !errors.Is(found, domain.ErrNotFound) {
				t.Errorf("save %d was refused as closed but is stored", i)
			}
		default:
			t.Errorf("save %d: %v", i, err)
		}
	}
	t.Logf("%d of %d saves done before Close", saved, callers)
	if err := store.SaveToken(t.Context(), batchToken("after")); !errors.Is(err, errClosed) {
		t.Errorf("save after Close: %v, want %v", err, errClosed)
	}
	if _, err := store.FindToken(t.Context(), "t0"); !errors.Is(err, errClosed) {
		t.Errorf("find after Close: %v, want %v", err, errClosed)
	}
	if err := store.Close(t.Context()); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

func TestCloseOfAStoreNeverUsed(t *testing.T) {
	store := NewTokens(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "p:")
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := store.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveToken(t.Context(), batchToken("x")); !errors.Is(err, errClosed) {
		t.Errorf("save after Close: %v", err)
	}
}

// A Redis that never answers cannot hold Close past its context: the
// pipeline in flight is given up, and its caller told the store closed
// once the client is closed under it.
func TestCloseGivesUpOnAFrozenRedis(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	client := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ReadTimeout: time.Minute, WriteTimeout: time.Minute, ContextTimeoutEnabled: true})
	store := NewTokens(client, "p:")

	saved := make(chan error, 1)
	go func() { saved <- store.SaveToken(context.Background(), batchToken("x")) }()
	time.Sleep(100 * time.Millisecond) // the pipeline is out, waiting
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = store.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("close: %v, want its deadline", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("close took %v with a 200ms deadline", took)
	}
	// Closing the client, as the app does next, ends the pipeline.
	_ = client.Close()
	select {
	case err := <-saved:
		if !errors.Is(err, errClosed) {
			t.Errorf("the abandoned save: %v, want %v", err, errClosed)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the abandoned save never returned")
	}
}
