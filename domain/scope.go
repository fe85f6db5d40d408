package domain

import (
	"slices"
	"strings"
)

// Scopes is a normalised set of scope tokens: unique and sorted, so two
// requests naming the same scopes in another order yield the same value.
type Scopes []string

// ParseScopes parses a space-delimited scope parameter (RFC 6749 §3.3).
// Each token must be 1*( %x21 / %x23-5B / %x5D-7E ); tokens are separated
// by single spaces, but runs of spaces are tolerated. Duplicates are
// dropped and the result is sorted. An empty string gives nil.
func ParseScopes(s string) (Scopes, error) {
	fields := strings.Split(s, " ")
	out := make(Scopes, 0, len(fields))
	for _, f := range fields {
		if f == "" {
			continue
		}
		if !validScopeToken(f) {
			return nil, ErrInvalidScope.With("scope contains a character RFC 6749 §3.3 does not allow")
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return NewScopes(out...), nil
}

// NewScopes builds normalised Scopes from tokens already known to be valid.
func NewScopes(tokens ...string) Scopes {
	if len(tokens) == 0 {
		return nil
	}
	s := slices.Clone(tokens)
	slices.Sort(s)
	return Scopes(slices.Compact(s))
}

func validScopeToken(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E {
			return false
		}
	}
	return true
}

// String renders the scopes space-delimited, as the scope parameter and
// the scope claim carry them.
func (s Scopes) String() string { return strings.Join(s, " ") }

// Contains reports whether scope is in s.
func (s Scopes) Contains(scope string) bool {
	_, found := slices.BinarySearch(s, scope)
	return found
}

// ContainsAll reports whether every scope of other is in s.
func (s Scopes) ContainsAll(other Scopes) bool {
	for _, o := range other {
		if !s.Contains(o) {
			return false
		}
	}
	return true
}
