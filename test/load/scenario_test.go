package main

import (
	"testing"
	"time"
)

// The table of scenarios is data the harness trusts: a reference that
// names no row, or a row on no node, would silently drop a comparison
// from the table.
func TestEveryScenarioIsComparedWithARowOfItsOwnNode(t *testing.T) {
	byName := map[string]scenario{}
	for _, sc := range scenarios {
		if _, dup := byName[sc.Name]; dup {
			t.Errorf("two scenarios are named %q", sc.Name)
		}
		byName[sc.Name] = sc
	}
	onNode := map[string]bool{}
	for _, n := range nodes {
		onNode[n.Name] = true
	}
	for _, sc := range scenarios {
		if !onNode[sc.Node] {
			t.Errorf("%q: node %q is not started", sc.Name, sc.Node)
		}
		if (sc.Raw == nil) == (sc.Request == nil) {
			t.Errorf("%q: want exactly one of Raw and Request", sc.Name)
		}
		if sc.Reference == "" {
			if sc.Ceiling != "" || sc.Target != 0 {
				t.Errorf("%q: a reference row has a ceiling or a target", sc.Name)
			}
			continue
		}
		ref, ok := byName[sc.Reference]
		// The metrics row alone compares two sigils, run one after the
		// other: a sigil cannot turn its metrics off.
		if !ok || (ref.Node != sc.Node && sc.Reference != metricsOff) {
			t.Errorf("%q: reference %q is not a row of node %s", sc.Name, sc.Reference, sc.Node)
		}
		if sc.Target <= 0 || sc.Target > 1 {
			t.Errorf("%q: target %v is not a ratio", sc.Name, sc.Target)
		}
		if sc.Ceiling == "" {
			continue
		}
		// A signing row: the raw rate of its own primitive, and the
		// ceiling of its own sigil.
		if ref.Raw == nil {
			t.Errorf("%q: with a ceiling, the reference %q must be a raw signing rate", sc.Name, sc.Reference)
		}
		c, ok := byName[sc.Ceiling]
		if !ok || c.Node != sc.Node || c.Reference != "" || c.Raw != nil {
			t.Errorf("%q: ceiling %q is not a reference row of node %s", sc.Name, sc.Ceiling, sc.Node)
		}
	}
}

// Issue 10: the RS256, ES256 and EdDSA sigils each have a token row
// compared with the raw rate of their own primitive. (PS256 is RSA as
// RS256 is, with another padding.)
func TestEachSigningAlgorithmHasATokenRowAgainstItsOwnPrimitive(t *testing.T) {
	want := map[string]string{"RS256": rawRS256, "ES256": rawES256, "EdDSA": rawEdDSA}
	for _, n := range nodes {
		if n.Clients || n.Name == "metrics" || n.NoMetrics || n.MTLS {
			continue
		}
		found := false
		for _, sc := range scenarios {
			if sc.Node == n.Name && sc.Ceiling != "" && sc.Reference == want[n.KeyAlgorithm] {
				found = true
			}
		}
		if !found {
			t.Errorf("node %s (%s) has no token row against %q", n.Name, n.KeyAlgorithm, want[n.KeyAlgorithm])
		}
	}
}

// Each raw rate signs what sigil signs for its algorithm, and works.
func TestEachPrimitiveSigns(t *testing.T) {
	for _, sc := range scenarios {
		if sc.Raw == nil {
			continue
		}
		m, err := signRate(sc.Raw, 0, 50*time.Millisecond)
		if err != nil || m.RPS <= 0 {
			t.Errorf("%s: %v signatures/s, %v", sc.Name, m.RPS, err)
		}
	}
}
