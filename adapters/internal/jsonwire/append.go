// Package jsonwire writes JSON by hand, appending to a byte slice: the
// strings, string arrays and scope strings of the responses and tokens
// that are Sigil's hot paths (the token, introspection and country
// answers, access token claims). What it writes is byte for byte what
// encoding/json's Marshal writes for the same value, which the fuzz target
// beside it checks, so a shape written by hand can be proven against the
// struct that defines it.
package jsonwire

import "unicode/utf8"

// AppendString appends s to dst as a JSON string (RFC 8259 §7) and returns
// the extended slice. It writes exactly the bytes encoding/json's Marshal
// writes for s, so that a claims set built by hand is byte for byte the
// one a struct would marshal to, and it allocates only when dst lacks the
// room:
//
//   - '"' and '\' are escaped, as RFC 8259 §7 requires;
//   - control characters below U+0020, which RFC 8259 §7 forbids raw, become
//     \b \f \n \r \t or \u00XX;
//   - '<', '>' and '&' become \u003c, \u003e and \u0026, as Marshal's HTML
//     escaping does, so the output is safe to embed in an HTML page;
//   - U+2028 and U+2029, valid in JSON but line terminators in JavaScript
//     before ES2019, become \u2028 and \u2029;
//   - each byte that is not part of valid UTF-8 becomes \ufffd: RFC 8259
//     §8.1 requires UTF-8, and a JWT whose claims are not valid JSON text
//     would be rejected by strict parsers (RFC 7519 §7.2 step 10).
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// AppendStrings appends list as a JSON array of strings, each written as
// AppendString writes it: the bytes json.Marshal writes for a []string
// that is not nil.
func AppendStrings(dst []byte, list []string) []byte {
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, s)
	}
	return append(dst, ']')
}

// AppendScope appends the scope tokens as one space-delimited JSON string
// (RFC 9068 §2.2.3, RFC 6749 §3.3): the bytes AppendString writes for
// strings.Join(tokens, " "), without building the joined string. Escaping
// each token on its own gives the same bytes because a space is ASCII: it
// never continues a UTF-8 sequence, so no escape can span it.
func AppendScope(dst []byte, tokens []string) []byte {
	dst = append(dst, '"')
	for i, t := range tokens {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendEscaped(dst, t)
	}
	return append(dst, '"')
}

// appendEscaped appends s escaped as the inside of a JSON string.
func appendEscaped(dst []byte, s string) []byte {
	// start is the first byte of s not yet copied to dst: runs of bytes
	// that need no escape are copied in one append.
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !needsEscape[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedASCII(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}

// appendEscapedASCII appends the escape of an ASCII byte needsEscape marks.
func appendEscapedASCII(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// hexDigits are lower case, as encoding/json writes them.
const hexDigits = "0123456789abcdef"

// needsEscape marks the ASCII bytes AppendString does not copy as they
// are: control characters, the quote, the backslash and the three
// characters HTML gives meaning to.
var needsEscape = func() (t [utf8.RuneSelf]bool) {
	for c := range byte(0x20) {
		t[c] = true
	}
	for _, c := range []byte{'"', '\\', '<', '>', '&'} {
		t[c] = true
	}
	return t
}()
