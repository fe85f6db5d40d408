package echohttp_test

import (
	"fmt"
	"testing"

	"github.com/sigilauth/sigil/adapters/echohttp"
)

// TestBoundedLabel: a label passes on its first values as they are and
// folds every later one into "other", so a reason that quoted its input
// could not grow the series without end.
func TestBoundedLabel(t *testing.T) {
	b := echohttp.NewBoundedLabel(3, "unspecified")
	for i := range 3 {
		if got := b.Value(fmt.Sprint("reason ", i)); got != fmt.Sprint("reason ", i) {
			t.Errorf("value %d: %q", i, got)
		}
	}
	if got := b.Value("reason 9"); got != "other" {
		t.Errorf("fourth distinct value: %q, want other", got)
	}
	if got := b.Value("reason 1"); got != "reason 1" {
		t.Errorf("a value seen before, after the bound: %q", got)
	}
	if got := b.Value(""); got != "unspecified" {
		t.Errorf("empty value: %q", got)
	}
}
