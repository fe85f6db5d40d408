package application

import (
	"testing"
	"time"
)

func TestFailedHashTimeKeepsToItsShareOnceTheBurstIsUsed(t *testing.T) {
	s := NewHashSlots(1, 0, 20) // failures may take a fifth of the slot
	t0 := time.Unix(1_700_000_000, 0)
	now := t0
	// The burst: a second of failed hashes, back to back, rests nothing.
	for range 10 {
		now = now.Add(100 * time.Millisecond)
		if rest := s.restAfterFailure(100*time.Millisecond, now); rest != 0 {
			t.Fatalf("rest %s within the burst, want none", rest)
		}
	}
	// Back to back, the budget wins back a fifth of what they take: the
	// rests begin a few failures later, each up to four times its failure.
	var first time.Duration
	n := 10
	for ; first == 0 && n < 20; n++ {
		now = now.Add(100 * time.Millisecond)
		first = s.restAfterFailure(100*time.Millisecond, now)
	}
	if n < 12 || n > 14 || first > 400*time.Millisecond {
		t.Fatalf("first rest %s after %d failures of 100ms, want up to 400ms after 12 to 14", first, n)
	}
	now = now.Add(first + 100*time.Millisecond)
	if rest := s.restAfterFailure(100*time.Millisecond, now); rest < 300*time.Millisecond || rest > 500*time.Millisecond {
		t.Fatalf("rest %s after a 100ms failure once the budget is spent, want about 400ms", rest)
	}
	// Over any long flood, failures take at most a fifth of the time.
	start, hashed := now, time.Duration(0)
	for range 200 {
		now = now.Add(50 * time.Millisecond)
		hashed += 50 * time.Millisecond
		now = now.Add(s.restAfterFailure(50*time.Millisecond, now))
	}
	if share := float64(hashed) / float64(now.Sub(start)); share > 0.21 {
		t.Errorf("failures took %.2f of the slot over a flood, want at most 0.20", share)
	}
	// Quiet for long enough, the burst is whole again.
	now = now.Add(time.Minute)
	for range 10 {
		if rest := s.restAfterFailure(100*time.Millisecond, now); rest != 0 {
			t.Fatalf("rest %s after a quiet minute, want none", rest)
		}
	}
}

func TestWithoutAShareFailuresNeverRest(t *testing.T) {
	s := NewHashSlots(1, 0, 100)
	called := false
	if err := s.run(t.Context(), func() bool { called = true; return true }); err != nil || !called {
		t.Fatalf("run: %v, called %v", err, called)
	}
	if err := s.run(t.Context(), func() bool { return true }); err != nil {
		t.Fatalf("the slot rested after a failure with no share set: %v", err)
	}
}

// TestHashSlotStats: the counts the metrics report follow what the slots
// did: hashes run and failed, requests refused for want of a slot, and
// the time spent waiting for one.
func TestHashSlotStats(t *testing.T) {
	s := NewHashSlots(1, 20*time.Millisecond, 100)
	if err := s.run(t.Context(), func() bool { return false }); err != nil {
		t.Fatal(err)
	}
	if err := s.run(t.Context(), func() bool { return true }); err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.run(t.Context(), func() bool { close(held); <-release; return false })
	}()
	<-held
	if st := s.Stats(); st.InUse != 1 || st.Size != 1 {
		t.Errorf("while one hash runs: %+v", st)
	}
	if err := s.run(t.Context(), func() bool { t.Error("ran without a slot"); return false }); err == nil {
		t.Fatal("a second hash got the only slot")
	}
	close(release)
	st := s.Stats()
	if st.Failed != 1 || st.Refused != 1 || st.Waited < 20*time.Millisecond || st.Waited > 2*time.Second {
		t.Errorf("stats %+v; want 1 failed, 1 refused, about 20ms waited", st)
	}
	var none *HashSlots
	if none.Stats() != (HashSlotStats{}) {
		t.Error("nil slots report counts")
	}
}
