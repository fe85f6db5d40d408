package redisstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The binary form of a stored token.
//
// Every call to the introspection endpoint reads a token from Redis, and
// every opaque token issued writes one, so the encoding of a key's value is
// on the hottest path Sigil has. JSON cost about 8% of the server's CPU
// there: reflection over tokenWire, quoting, and parsing RFC 3339 times.
// The form below is written and read by hand with no reflection and no
// text formatting, and is decoded straight out of the string Redis hands
// back: its strings are slices of that string rather than copies.
//
// Layout, version 1:
//
//	version    1 byte, 0x01
//	jti        string
//	format     string
//	iss        string
//	sub        string
//	client id  string
//	scopes     list
//	audience   list
//	iat        time
//	nbf        time
//	exp        time
//
// A string is its length in bytes as a uvarint, then the bytes as they
// are (no UTF-8 check: what was saved comes back). A list is its number of
// strings as a uvarint, then the strings; an empty list comes back nil, as
// it did from JSON, whose omitempty dropped it. A time is one presence
// byte, 0 for the zero time.Time and nothing after it, or 1 followed by the
// Unix seconds as a varint and the nanoseconds within the second as a
// uvarint, so that sub-second instants and instants before 1970 survive.
// Times come back in UTC; they are the same instants (time.Equal).
//
// The version byte can never begin a JSON text, so FindToken tells a value
// saved by a Sigil from before this form (a JSON object, starting with
// '{') from this one by its first byte, and tokens issued before an
// upgrade stay valid until they expire. A later layout takes the next
// version number; a value of a version this code does not know is an
// error rather than a guess.
//
// Version 2 is version 1 followed by one more string, the thumbprint of
// the DPoP key the token is bound to (RFC 9449 §6.2). Only bound tokens
// are written as version 2: a bearer token keeps version 1's bytes, which
// a node of the release before DPoP still reads during a rolling upgrade.
//
// Version 3 is version 2 followed by one more string, the x5t#S256 of the
// TLS client certificate the token is bound to (RFC 8705 §3); only
// certificate-bound tokens are written as version 3.
//
// Version 4 is version 3 followed by two more strings: the act claim of a
// token issued by token exchange, as JSON (RFC 8693 §4.1), and the jti of
// the token it was exchanged from; only exchanged tokens are written as
// version 4.
const (
	tokenWireV1 = 0x01
	tokenWireV2 = 0x02
	tokenWireV3 = 0x03
	tokenWireV4 = 0x04
)

// maxTimeSize is the most bytes a time takes: the presence byte, the
// seconds and the nanoseconds, which are below 1e9 and so fit a 32-bit
// uvarint.
const maxTimeSize = 1 + binary.MaxVarintLen64 + binary.MaxVarintLen32

var errTruncated = errors.New("token wire: truncated")

// encodeToken returns the binary form of w. The buffer is sized before
// anything is written, so encoding allocates exactly once.
func encodeToken(w tokenWire) []byte {
	size := 1 + stringSize(w.ID) + stringSize(w.Format) + stringSize(w.Issuer) +
		stringSize(w.Subject) + stringSize(w.ClientID) +
		listSize(w.Scopes) + listSize(w.Audience) + 3*maxTimeSize
	version := byte(tokenWireV1)
	if w.JKT != "" || w.X5T != "" || w.Act != "" || w.Parent != "" {
		version = tokenWireV2
		size += stringSize(w.JKT)
	}
	if w.X5T != "" || w.Act != "" || w.Parent != "" {
		version = tokenWireV3
		size += stringSize(w.X5T)
	}
	if w.Act != "" || w.Parent != "" {
		version = tokenWireV4
		size += stringSize(w.Act) + stringSize(w.Parent)
	}
	b := make([]byte, 0, size)
	b = append(b, version)
	b = appendString(b, w.ID)
	b = appendString(b, w.Format)
	b = appendString(b, w.Issuer)
	b = appendString(b, w.Subject)
	b = appendString(b, w.ClientID)
	b = appendList(b, w.Scopes)
	b = appendList(b, w.Audience)
	b = appendTime(b, w.IssuedAt)
	b = appendTime(b, w.NotBefore)
	b = appendTime(b, w.ExpiresAt)
	if version >= tokenWireV2 {
		b = appendString(b, w.JKT)
	}
	if version >= tokenWireV3 {
		b = appendString(b, w.X5T)
	}
	if version == tokenWireV4 {
		b = appendString(b, w.Act)
		b = appendString(b, w.Parent)
	}
	return b
}

func uvarintSize(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

func stringSize(s string) int { return uvarintSize(uint64(len(s))) + len(s) }

func listSize(l []string) int {
	n := uvarintSize(uint64(len(l)))
	for _, s := range l {
		n += stringSize(s)
	}
	return n
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendList(b []byte, l []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(l)))
	for _, s := range l {
		b = appendString(b, s)
	}
	return b
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// decodeToken reads the binary form of a token. It takes a string, as
// Redis replies come, so that the token's strings can share its memory.
// Whatever data holds, it returns an error rather than panicking, and it
// never allocates more than data could describe: a length or count is
// checked against the bytes left before anything is made of it.
func decodeToken(data string) (tokenWire, error) {
	if data == "" {
		return tokenWire{}, errTruncated
	}
	version := data[0]
	if version < tokenWireV1 || version > tokenWireV4 {
		return tokenWire{}, fmt.Errorf("token wire: unknown version %#02x", data[0])
	}
	r := wireReader{rest: data[1:]}
	w := tokenWire{
		ID:        r.string(),
		Format:    r.string(),
		Issuer:    r.string(),
		Subject:   r.string(),
		ClientID:  r.string(),
		Scopes:    r.list(),
		Audience:  r.list(),
		IssuedAt:  r.time(),
		NotBefore: r.time(),
		ExpiresAt: r.time(),
	}
	if version >= tokenWireV2 {
		w.JKT = r.string()
	}
	if version >= tokenWireV3 {
		w.X5T = r.string()
	}
	if version == tokenWireV4 {
		w.Act = r.string()
		w.Parent = r.string()
	}
	if r.err != nil {
		return tokenWire{}, r.err
	}
	if len(r.rest) != 0 {
		// Bytes after a whole token mean it was not written by this
		// version's encoder: better refused than half understood.
		return tokenWire{}, fmt.Errorf("token wire: %d bytes after the token", len(r.rest))
	}
	return w, nil
}

// wireReader consumes rest from the front. Its first error sticks and
// turns every later read into a no-op, so decodeToken reads the fields in
// order and checks once.
type wireReader struct {
	rest string
	err  error
}

func (r *wireReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.rest = ""
}

// head is at most the next varint's worth of bytes, as the []byte that
// encoding/binary reads. It is short enough for the conversion to stay
// off the heap.
func (r *wireReader) head() []byte {
	return []byte(r.rest[:min(len(r.rest), binary.MaxVarintLen64)])
}

func (r *wireReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.head())
	if n <= 0 {
		r.fail(varintError(n))
		return 0
	}
	r.rest = r.rest[n:]
	return v
}

func (r *wireReader) varint() int64 {
	v, n := binary.Varint(r.head())
	if n <= 0 {
		r.fail(varintError(n))
		return 0
	}
	r.rest = r.rest[n:]
	return v
}

// varintError explains encoding/binary's n <= 0: 0 when the bytes ran
// out, below 0 when the value does not fit 64 bits.
func varintError(n int) error {
	if n == 0 {
		return errTruncated
	}
	return errors.New("token wire: varint overflows 64 bits")
}

func (r *wireReader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.rest)) {
		r.fail(errTruncated)
		return ""
	}
	s := r.rest[:n]
	r.rest = r.rest[n:]
	return s
}

func (r *wireReader) list() []string {
	n := r.uvarint()
	// Each string takes at least its one-byte length, so a count above
	// the bytes left is a lie; checking it first keeps a few hostile
	// bytes from asking for a huge slice.
	if n > uint64(len(r.rest)) {
		r.fail(errTruncated)
		return nil
	}
	if n == 0 {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = r.string()
	}
	if r.err != nil {
		return nil
	}
	return l
}

func (r *wireReader) time() time.Time {
	if r.rest == "" {
		r.fail(errTruncated)
		return time.Time{}
	}
	present := r.rest[0]
	r.rest = r.rest[1:]
	switch present {
	case 0:
		return time.Time{}
	case 1:
	default:
		r.fail(fmt.Errorf("token wire: time presence byte %#02x", present))
		return time.Time{}
	}
	sec := r.varint()
	nsec := r.uvarint()
	if r.err != nil {
		return time.Time{}
	}
	if nsec >= uint64(time.Second) {
		r.fail(fmt.Errorf("token wire: %d nanoseconds in a second", nsec))
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
