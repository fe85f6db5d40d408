package gormstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Times are stored as Unix microseconds in BIGINT columns: SQLite has no
// time type, and integers compare and round-trip alike on both engines
// (microseconds are also PostgreSQL's own timestamp precision). The zero
// time is stored as NULL.

func toMicros(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	us := t.UnixMicro()
	return &us
}

func fromMicros(us *int64) time.Time {
	if us == nil {
		return time.Time{}
	}
	return time.UnixMicro(*us).UTC()
}

// joinWords stores a list whose elements are protocol tokens that cannot
// hold a space (scopes, RFC 6749 §3.3; auth method and grant type names)
// as one space-separated string, as the protocol itself writes them. An
// element with a space would come back as two, so it is refused.
func joinWords[S ~string](field string, list []S) (string, error) {
	words := make([]string, len(list))
	for i, w := range list {
		if w == "" || strings.ContainsAny(string(w), " \t\r\n") {
			return "", fmt.Errorf("%s %q cannot be stored: empty or holds white space", field, w)
		}
		words[i] = string(w)
	}
	return strings.Join(words, " "), nil
}

func splitWords[S ~string](s string) []S {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil
	}
	out := make([]S, len(fields))
	for i, f := range fields {
		out[i] = S(f)
	}
	return out
}

// encodeStrings stores a list of free-form strings (audiences are any
// StringOrURI, RFC 7519 §4.1.3) as JSON text; an empty list as "".
func encodeStrings(list []string) (string, error) {
	if len(list) == 0 {
		return "", nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeStrings(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	return out, nil
}
