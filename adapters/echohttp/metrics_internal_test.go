package echohttp

import (
	"fmt"
	"testing"
)

// TestBoundedLabel: a label passes on its first values as they are and
// folds every later one into "other", so a reason that quoted its input
// could not grow the series without end.
func TestBoundedLabel(t *testing.T) {
	b := boundedLabel{max: 3}
	for i := range 3 {
		if got := b.value(fmt.Sprint("reason ", i)); got != fmt.Sprint("reason ", i) {
			t.Errorf("value %d: %q", i, got)
		}
	}
	if got := b.value("reason 9"); got != "other" {
		t.Errorf("fourth distinct value: %q, want other", got)
	}
	if got := b.value("reason 1"); got != "reason 1" {
		t.Errorf("a value seen before, after the bound: %q", got)
	}
	if got := b.value(""); got != "unspecified" {
		t.Errorf("empty value: %q", got)
	}
}
