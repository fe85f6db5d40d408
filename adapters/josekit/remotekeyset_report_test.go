package josekit_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/sigilauth/sigil/adapters/josekit"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/test/fakes"
)

// recordingReporter hears every call, for the requests whose context
// carries watchKey.
type recordingReporter struct {
	mu    sync.Mutex
	calls []application.UpstreamCall
}

type watchKey struct{}

func (r *recordingReporter) Watched(ctx context.Context) bool { return ctx.Value(watchKey{}) != nil }

func (r *recordingReporter) Report(_ context.Context, c application.UpstreamCall) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

// The resource role tells the playground how each kid was found: the
// fetch the request waited for, then the cache, and an unknown kid it
// may not fetch for yet; requests nobody watches are not reported.
func TestRemoteKeySetReportsFetchThenCacheHit(t *testing.T) {
	a, b := rsaKey(t, 0), rsaKey(t, 1)
	s := newJWKSServer(t, a)
	rep := &recordingReporter{}
	r := josekit.NewRemoteKeySet(s.URL, s.Client(), josekit.RemoteKeySetOptions{
		MinRefreshInterval: minRefresh, MaxAge: maxAge, Clock: fakes.NewClock(epoch), Reporter: rep,
	})
	watched := context.WithValue(context.Background(), watchKey{}, true)
	for range 2 {
		if _, _, err := r.VerificationKey(watched, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := r.VerificationKey(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	_, _, _ = r.VerificationKey(watched, b.ID) // unknown, within the interval
	if len(rep.calls) != 3 {
		t.Fatalf("%d calls reported, want 3: %+v", len(rep.calls), rep.calls)
	}
	fetch, hit, refused := rep.calls[0], rep.calls[1], rep.calls[2]
	if fetch.Cached || fetch.Status != 200 || fetch.KeyID != a.ID || fetch.URL != s.URL || !strings.Contains(fetch.ResponseBody, a.ID) {
		t.Errorf("first lookup: %+v, want the fetch of %s", fetch, s.URL)
	}
	if !hit.Cached || hit.KeyID != a.ID || hit.Status != 0 || hit.Error != "" {
		t.Errorf("second lookup: %+v, want a cache hit", hit)
	}
	if refused.KeyID != b.ID || refused.Error == "" {
		t.Errorf("unknown kid within the interval: %+v, want it said", refused)
	}
	assertHits(t, s, 1)
}
