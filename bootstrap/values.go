package bootstrap

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// value reads and writes one field of Config as text: the text a flag,
// a variable or a file gives, and the text Describe prints. Set refuses
// what the field cannot hold, so a bad value is reported by where it
// was given; its error starts with the refused value, quoted, to follow
// the name it was given by: --role "proxy" is not one of auth, resource,
// all.
type value interface {
	Set(string) error
	String() string
}

// valueOf is the text form of a field a setting binds: the field itself
// when its type reads text (Role, DemoMode, ...), or a wrapper for a
// type that does not. A type without one is a programming error, which
// Defaults meets for every setting, so no test gets past it.
func valueOf(field any) value {
	switch p := field.(type) {
	case value:
		return p
	case *string:
		return stringValue{p}
	case *int:
		return intValue{p}
	case *int64:
		return int64Value{p}
	case *bool:
		return boolValue{p}
	case *time.Duration:
		return durationValue{p}
	case *slog.Level:
		return levelValue{p}
	case *domain.Algorithm:
		return algorithmValue{p}
	case *[]domain.Algorithm:
		return algorithmsValue{p}
	case *application.Limit:
		return limitValue{p}
	case *[]netip.Prefix:
		return prefixesValue{p}
	case *domain.Profile:
		return profileValue{p}
	}
	panic(fmt.Sprintf("bootstrap: a setting binds a %T, which has no text form", field))
}

// profileValue reads a security profile: empty, or fapi2.
type profileValue struct{ p *domain.Profile }

func (v profileValue) Set(s string) error {
	switch p := domain.Profile(s); p {
	case "", domain.ProfileFAPI2:
		*v.p = p
		return nil
	}
	return fmt.Errorf("%q is not one of fapi2 or empty", s)
}
func (v profileValue) String() string { return string(*v.p) }

type stringValue struct{ p *string }

func (v stringValue) Set(s string) error { *v.p = s; return nil }
func (v stringValue) String() string     { return *v.p }

type intValue struct{ p *int }

func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v.p = n
	return nil
}
func (v intValue) String() string { return strconv.Itoa(*v.p) }

type int64Value struct{ p *int64 }

func (v int64Value) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v.p = n
	return nil
}
func (v int64Value) String() string { return strconv.FormatInt(*v.p, 10) }

// boolValue takes what strconv.ParseBool takes: true, false, 1, 0, t, f
// in either case.
type boolValue struct{ p *bool }

func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*v.p = b
	return nil
}
func (v boolValue) String() string { return strconv.FormatBool(*v.p) }

type durationValue struct{ p *time.Duration }

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 30s or 5m", s)
	}
	*v.p = d
	return nil
}
func (v durationValue) String() string { return v.p.String() }

// oneOf sets *p to s if s is one of words.
func oneOf[T ~string](p *T, s string, words ...T) error {
	if !slices.Contains(words, T(s)) {
		return fmt.Errorf("%q is not one of %s", s, joinWords(words))
	}
	*p = T(s)
	return nil
}

func joinWords[T ~string](words []T) string {
	s := make([]string, len(words))
	for i, w := range words {
		s[i] = string(w)
	}
	return strings.Join(s, ", ")
}

// levelValue takes debug, info, warn or error, in any case.
type levelValue struct{ p *slog.Level }

func (v levelValue) Set(s string) error {
	switch l := strings.ToLower(s); l {
	case "debug", "info", "warn", "error":
		return v.p.UnmarshalText([]byte(l))
	}
	return fmt.Errorf("%q is not one of debug, info, warn, error", s)
}
func (v levelValue) String() string { return strings.ToLower(v.p.String()) }

// algorithmValue takes a signing algorithm Sigil has.
type algorithmValue struct{ p *domain.Algorithm }

func (v algorithmValue) Set(s string) error { return oneOf(v.p, s, domain.SigningAlgorithms...) }
func (v algorithmValue) String() string     { return string(*v.p) }

// algorithmsValue takes a comma-separated list of signing algorithms;
// empty is none.
type algorithmsValue struct{ p *[]domain.Algorithm }

func (v algorithmsValue) Set(s string) error {
	var out []domain.Algorithm
	for _, f := range commaList(s) {
		var a domain.Algorithm
		if err := oneOf(&a, f, domain.SigningAlgorithms...); err != nil {
			return err
		}
		out = append(out, a)
	}
	*v.p = out
	return nil
}
func (v algorithmsValue) String() string { return joinWords(*v.p) }

// limitValue takes a request limit as ParseRateLimit reads it.
type limitValue struct{ p *application.Limit }

func (v limitValue) Set(s string) error {
	l, err := ParseRateLimit(s)
	if err != nil {
		return err
	}
	*v.p = l
	return nil
}

func (v limitValue) String() string {
	if v.p.Rate == 0 {
		return ""
	}
	units := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}
	unit, ok := units[v.p.Period]
	if !ok {
		// Not a period the setting can say: Validate refuses it.
		unit = v.p.Period.String()
	}
	return strconv.Itoa(v.p.Rate) + "/" + unit
}

// prefixesValue takes comma-separated CIDRs, or plain addresses for a
// single host.
type prefixesValue struct{ p *[]netip.Prefix }

func (v prefixesValue) Set(s string) error {
	var out []netip.Prefix
	for _, f := range commaList(s) {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return fmt.Errorf("%q is neither a CIDR nor an address", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	*v.p = out
	return nil
}

func (v prefixesValue) String() string {
	s := make([]string, len(*v.p))
	for i, p := range *v.p {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// commaList splits a comma-separated list, trimming spaces and dropping
// empty items.
func commaList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
