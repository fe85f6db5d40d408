package echohttp

import (
	"strconv"
	"strings"
)

// mimeIntrospectionJWT is the media type of a signed introspection answer
// (RFC 9701 §4, §5).
const mimeIntrospectionJWT = "application/token-introspection+jwt"

// prefersIntrospectionJWT reads an introspection request's Accept header
// values (RFC 9110 §12.5.1) and reports whether the caller asks for a JWT
// answer rather than JSON (RFC 9701 §4). It must name the JWT type itself,
// with a weight above zero and not below that of application/json: a
// wildcard such as */* or application/* keeps JSON, the answer every RFC
// 7662 client understands. Accept naming neither type also gets JSON, as
// before RFC 9701: refusing with 406 would break clients that send a
// generic Accept.
func prefersIntrospectionJWT(accept []string) bool {
	jwtQ, named := acceptWeight(accept, "application", "token-introspection+jwt")
	if !named || jwtQ <= 0 {
		return false
	}
	jsonQ, _ := acceptWeight(accept, "application", "json")
	return jwtQ >= jsonQ
}

// acceptWeight returns the weight Accept gives typ/sub: that of the most
// specific media range matching it (RFC 9110 §12.5.1: type/subtype, then
// type/*, then */*), or 0 when none does. named reports whether the match
// was type/subtype itself. Media type parameters other than q are ignored,
// and a range with a malformed weight is skipped.
func acceptWeight(accept []string, typ, sub string) (q float64, named bool) {
	best := -1 // specificity of the best match so far
	for _, value := range accept {
		for item := range strings.SplitSeq(value, ",") {
			mediaRange, params, _ := strings.Cut(item, ";")
			t, s, ok := strings.Cut(strings.ToLower(strings.TrimSpace(mediaRange)), "/")
			if !ok {
				continue
			}
			var specificity int
			switch {
			case t == typ && s == sub:
				specificity = 2
			case t == typ && s == "*":
				specificity = 1
			case t == "*" && s == "*":
				specificity = 0
			default:
				continue
			}
			w, ok := weight(params)
			if !ok {
				continue
			}
			if specificity > best || (specificity == best && w > q) {
				best, q = specificity, w
			}
		}
	}
	return q, best == 2
}

// weight reads the q parameter among a media range's parameters; absent,
// it is 1. A value outside the qvalue grammar of RFC 9110 §12.4.2
// ("0" ["." 0*3DIGIT] / "1" ["." 0*3"0"]) is malformed.
func weight(params string) (float64, bool) {
	for param := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(param), "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		value = strings.TrimSpace(value)
		if !isQValue(value) {
			return 0, false
		}
		w, err := strconv.ParseFloat(value, 64)
		return w, err == nil
	}
	return 1, true
}

func isQValue(v string) bool {
	if v == "" || (v[0] != '0' && v[0] != '1') {
		return false
	}
	rest := v[1:]
	if rest == "" {
		return true
	}
	if rest[0] != '.' || len(rest) > 4 {
		return false
	}
	for i := 1; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' || (v[0] == '1' && rest[i] != '0') {
			return false
		}
	}
	return true
}
