package josekit

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// accessTokenClaims is the JWT Claims Set of an access token as RFC 9068
// §2.2 lays it out. A fixed struct, not a map: cheaper to marshal, and
// nothing unexpected can slip in.
type accessTokenClaims struct {
	Issuer    string      `json:"iss"`
	Subject   string      `json:"sub,omitempty"`
	Audience  audience    `json:"aud,omitempty"`
	ExpiresAt numericDate `json:"exp"`
	IssuedAt  numericDate `json:"iat,omitempty"`
	NotBefore numericDate `json:"nbf,omitempty"`
	ID        string      `json:"jti,omitempty"`
	ClientID  string      `json:"client_id,omitempty"`
	Scope     scopeClaim  `json:"scope,omitempty"`
}

// audience is the aud claim: a single string when there is one audience,
// an array otherwise (RFC 7519 §4.1.3 allows both).
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// scopeClaim is the scope claim, space-delimited (RFC 9068 §2.2.3,
// RFC 8693 §4.2). Reading, it also takes a JSON array of scope tokens, as
// some servers (Spring Authorization Server among them) emit.
type scopeClaim string

func (s *scopeClaim) UnmarshalJSON(b []byte) error {
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
		*s = scopeClaim(strings.Join(l, " "))
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	*s = scopeClaim(str)
	return nil
}

// numericDate is seconds since the epoch (RFC 7519 §2). Zero means absent.
type numericDate int64

func newNumericDate(t time.Time) numericDate {
	if t.IsZero() {
		return 0
	}
	return numericDate(t.Unix())
}

// Time returns the date, or the zero time if absent.
func (d numericDate) Time() time.Time {
	if d == 0 {
		return time.Time{}
	}
	return time.Unix(int64(d), 0)
}

// maxNumericDate bounds dates to year 9999, keeping time arithmetic sane.
const maxNumericDate = 253402300799

// UnmarshalJSON reads a JSON number; RFC 7519 allows a fractional part,
// which is dropped.
func (d *numericDate) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		if n < 0 || n > maxNumericDate {
			return errors.New("date out of range")
		}
		*d = numericDate(n)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return errors.New("date is not a valid NumericDate")
	}
	*d = numericDate(f)
	return nil
}
