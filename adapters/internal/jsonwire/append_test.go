package jsonwire_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/adapters/internal/jsonwire"
)

func TestAppendString(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"empty", "", `""`},
		{"plain", "service-client-jwt", `"service-client-jwt"`},
		{"url", "https://auth.example.test/a?b=c", `"https://auth.example.test/a?b=c"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"short escapes", "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"other controls", "\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"delete is not escaped", "\x7f", "\"\x7f\""},
		{"html", "<a href='x'>&</a>", `"\u003ca href='x'\u003e\u0026\u003c/a\u003e"`},
		{"unicode kept", "José 日本 🔑", `"José 日本 🔑"`},
		{"line and paragraph separators", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		{"replacement character kept", "\ufffd", "\"\ufffd\""},
		{"invalid byte", "a\xffb", `"a\ufffdb"`},
		{"each invalid byte replaced", "\xe2\x80", `"\ufffd\ufffd"`},
		{"surrogate half", "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
		{"escape at the end", "ab\n", `"ab\n"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := string(jsonwire.AppendString(nil, c.in)); got != c.want {
				t.Errorf("AppendString(%q) = %s, want %s", c.in, got, c.want)
			}
		})
	}
}

func TestAppendStringAppends(t *testing.T) {
	got := jsonwire.AppendString([]byte(`{"iss":`), "x")
	if string(got) != `{"iss":"x"` {
		t.Errorf("got %s", got)
	}
}

func TestAppendStringsIsWhatMarshalWrites(t *testing.T) {
	for _, list := range [][]string{{}, {"a"}, {"https://api.example/a", "q\"<>\x01"}} {
		want, err := json.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonwire.AppendStrings(nil, list); !bytes.Equal(got, want) {
			t.Errorf("AppendStrings(%q) = %s, want %s", list, got, want)
		}
	}
}

func TestAppendScope(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{nil, `""`},
		{[]string{"country.read"}, `"country.read"`},
		{[]string{"country.read", "customer.read", "customer.write"}, `"country.read customer.read customer.write"`},
		{[]string{"", ""}, `" "`},
		{[]string{"a<b", "\xe2", "\x80\xa8"}, `"a\u003cb \ufffd \ufffd\ufffd"`},
	} {
		if got := string(jsonwire.AppendScope(nil, c.in)); got != c.want {
			t.Errorf("AppendScope(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestAppendStringDoesNotAllocate(t *testing.T) {
	s := "José <a@b> \"quoted\"\n\u2028\xff end"
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = jsonwire.AppendString(buf[:0], s) }); n != 0 {
		t.Errorf("AppendString allocates %v times into a buffer with room", n)
	}
	scope := []string{"country.read", "customer.read", "customer.write"}
	if n := testing.AllocsPerRun(100, func() { buf = jsonwire.AppendScope(buf[:0], scope) }); n != 0 {
		t.Errorf("AppendScope allocates %v times into a buffer with room", n)
	}
}

// FuzzAppendString checks, for any input, that the output is valid JSON,
// that it decodes to what encoding/json's own round trip gives (the input
// with each invalid UTF-8 byte replaced by U+FFFD), and that it is byte
// for byte encoding/json's output, which the access token claims rely on.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{
		"", "plain", `"\`, "\x00\x1f\x7f", "<>&", "\u2028\u2029",
		"\xff", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\ufffd",
		"José 🔑", "a b c", strings.Repeat("x\n", 40),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := jsonwire.AppendString(nil, s)
		if !json.Valid(got) {
			t.Fatalf("AppendString(%q) = %s is not valid JSON", s, got)
		}
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("AppendString(%q) = %s, json.Marshal = %s", s, got, want)
		}
		// Split on spaces and joined again, s is a scope of one or more
		// tokens: AppendScope must write what AppendString writes for it.
		if scope := jsonwire.AppendScope(nil, strings.Split(s, " ")); !bytes.Equal(scope, got) {
			t.Errorf("AppendScope(split %q) = %s, AppendString = %s", s, scope, got)
		}
		var decoded string
		if err := json.Unmarshal(got, &decoded); err != nil {
			t.Fatalf("unmarshal %s: %v", got, err)
		}
		if wantDecoded := replaceInvalidBytes(s); decoded != wantDecoded {
			t.Errorf("AppendString(%q) decodes to %q, want %q", s, decoded, wantDecoded)
		}
	})
}

// replaceInvalidBytes is what encoding/json's round trip makes of s: every
// byte that does not start a valid UTF-8 sequence becomes U+FFFD. Unlike
// strings.ToValidUTF8, a run of invalid bytes gives one U+FFFD per byte.
func replaceInvalidBytes(s string) string {
	var b strings.Builder
	for _, r := range s {
		// Ranging over a string yields utf8.RuneError once per invalid byte.
		b.WriteRune(r)
	}
	return b.String()
}
