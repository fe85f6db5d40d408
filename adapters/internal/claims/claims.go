// Package claims holds the JWT claim types (RFC 7519) that several
// adapters read, and the claim set they exchange: the JOSE verifier and
// the client assertion check read aud, scope and the dates from JWTs; the
// RFC 7662 introspection answer (Introspection), which reuses those claim
// names and types (RFC 7662 §2.2), is written by the HTTP adapter, signed
// by josekit and read by the introspection client.
package claims

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// Audience is the aud claim: written as a single string when there is one
// audience and an array otherwise; read from either (RFC 7519 §4.1.3).
type Audience []string

// MarshalJSON writes one audience as a string, several as an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON reads a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// AudienceList is the aud member of an introspection answer: written
// always as an array, as Sigil's answers always carried it, even for one
// audience; read, like Audience, from a string or an array.
type AudienceList []string

// UnmarshalJSON reads a string or an array of strings.
func (a *AudienceList) UnmarshalJSON(b []byte) error { return (*Audience)(a).UnmarshalJSON(b) }

// Scope is the scope claim, space-delimited (RFC 9068 §2.2.3, RFC 8693
// §4.2). Reading, it also takes a JSON array of scope tokens, as some
// servers (Spring Authorization Server among them) emit.
type Scope string

// UnmarshalJSON reads a space-delimited string or an array of tokens.
func (s *Scope) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var l []string
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		for _, t := range l {
			// A token with a space would merge with its neighbour once joined.
			if t == "" || strings.Contains(t, " ") {
				return errors.New("invalid scope token")
			}
		}
		*s = Scope(strings.Join(l, " "))
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	*s = Scope(str)
	return nil
}

// NumericDate is seconds since the epoch (RFC 7519 §2). Zero means absent.
type NumericDate int64

// NewNumericDate converts t, the zero time to absent.
func NewNumericDate(t time.Time) NumericDate {
	if t.IsZero() {
		return 0
	}
	return NumericDate(t.Unix())
}

// Time returns the date, or the zero time if absent.
func (d NumericDate) Time() time.Time {
	if d == 0 {
		return time.Time{}
	}
	return time.Unix(int64(d), 0)
}

// maxNumericDate bounds dates to year 9999, keeping time arithmetic sane.
const maxNumericDate = 253402300799

// UnmarshalJSON reads a JSON number; RFC 7519 allows a fractional part,
// which is dropped.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		if n < 0 || n > maxNumericDate {
			return errors.New("date out of range")
		}
		*d = NumericDate(n)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return errors.New("date is not a valid NumericDate")
	}
	*d = NumericDate(f)
	return nil
}

// Confirmation is the cnf claim (RFC 7800 §3.1) of a token bound to a
// key: for DPoP, jkt, the key's SHA-256 JWK thumbprint (RFC 9449 §6.1);
// for mutual TLS, x5t#S256, the certificate's SHA-256 thumbprint (RFC
// 8705 §3.1). It is a JWT claim and an introspection member (RFC 9449
// §6.2, RFC 8705 §3.2) alike.
type Confirmation struct {
	JKT string `json:"jkt,omitempty"`
	X5T string `json:"x5t#S256,omitempty"`
}

// NewConfirmation is the cnf of a token bound to jkt and x5t, nil for a
// bearer token, so that omitempty leaves it out.
func NewConfirmation(jkt, x5t string) *Confirmation {
	if jkt == "" && x5t == "" {
		return nil
	}
	return &Confirmation{JKT: jkt, X5T: x5t}
}

// CertificateThumbprint is the x5t#S256 c names, empty for nil.
func (c *Confirmation) CertificateThumbprint() string {
	if c == nil {
		return ""
	}
	return c.X5T
}

// Thumbprint is the jkt c names, empty for nil.
func (c *Confirmation) Thumbprint() string {
	if c == nil {
		return ""
	}
	return c.JKT
}
