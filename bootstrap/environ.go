package bootstrap

import (
	"slices"
	"strings"
)

// UnknownVariable is a SIGIL_* environment variable that no setting
// reads: most often a typo, which would otherwise leave a default in
// place without a word.
type UnknownVariable struct {
	Name string
	// Suggestion is the known variable it most likely meant, or "".
	Suggestion string
}

// UnknownVariables lists the SIGIL_* variables of environ (as os.Environ
// gives it, KEY=value) that no setting reads, by their former name or
// their new one, in order of name.
func UnknownVariables(environ []string) []UnknownVariable {
	known := []string{"SIGIL_CONFIG"}
	for _, s := range Settings {
		known = append(known, s.Env())
		if former := formerNames[s.Name]; former != "" {
			known = append(known, envName(former))
		}
	}
	var out []UnknownVariable
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "SIGIL_") || slices.Contains(known, name) {
			continue
		}
		out = append(out, UnknownVariable{Name: name, Suggestion: closest(name, known)})
	}
	slices.SortFunc(out, func(a, b UnknownVariable) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// closest is the candidate nearest to name by edit distance, if it is
// near enough to be a typo of it: at most a third of name's length past
// the prefix, and at least one edit.
func closest(name string, candidates []string) string {
	best, bestDist := "", len(name)
	limit := max(1, (len(name)-len("SIGIL_"))/3)
	for _, c := range candidates {
		if d := EditDistance(name, c); d <= limit && d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// EditDistance is the Levenshtein distance between a and b, in bytes
// (variable, setting and flag names are ASCII): what suggests the name
// an operator meant, here and on the command line.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
