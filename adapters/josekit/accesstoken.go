package josekit

import (
	"strconv"

	"github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/adapters/internal/jsonwire"
	"github.com/sigilauth/sigil/domain"
)

// appendAccessTokenClaims appends the JWT Claims Set of t (RFC 9068 §2.2)
// to dst. It writes exactly the bytes json.Marshal writes for the
// accessTokenClaims the verifier reads back: the same members in the same
// order, each left out when its omitempty rule would leave it out. Written
// by hand, a token's claims cost no reflection and no allocation beyond
// dst's growth, and the joined scope string is never built.
func appendAccessTokenClaims(dst []byte, t domain.Token) []byte {
	// iss has no omitempty: RFC 9068 §2.2 requires it.
	dst = append(dst, `{"iss":`...)
	dst = jsonwire.AppendString(dst, t.Issuer)
	dst = appendOptionalString(dst, `,"sub":`, t.Subject)
	// aud is a string for one audience and an array for several, as
	// claims.Audience marshals it (RFC 7519 §4.1.3), and left out when
	// there is none, as omitempty leaves out an empty slice.
	switch len(t.Audience) {
	case 0:
	case 1:
		dst = append(dst, `,"aud":`...)
		dst = jsonwire.AppendString(dst, t.Audience[0])
	default:
		dst = append(dst, `,"aud":`...)
		dst = jsonwire.AppendStrings(dst, t.Audience)
	}
	// exp has no omitempty: RFC 9068 §2.2 requires it, and the signer
	// refuses a token without one.
	dst = append(dst, `,"exp":`...)
	dst = strconv.AppendInt(dst, int64(claims.NewNumericDate(t.ExpiresAt)), 10)
	dst = appendOptionalDate(dst, `,"iat":`, claims.NewNumericDate(t.IssuedAt))
	dst = appendOptionalDate(dst, `,"nbf":`, claims.NewNumericDate(t.NotBefore))
	dst = appendOptionalString(dst, `,"jti":`, t.ID)
	dst = appendOptionalString(dst, `,"client_id":`, t.ClientID)
	// scope is t.Scopes joined with spaces (RFC 9068 §2.2.3), left out
	// when that string would be empty: no token, or one empty token.
	if len(t.Scopes) > 1 || len(t.Scopes) == 1 && t.Scopes[0] != "" {
		dst = append(dst, `,"scope":`...)
		dst = jsonwire.AppendScope(dst, t.Scopes)
	}
	// cnf binds the token to a DPoP key (RFC 9449 §6.1) or a TLS client
	// certificate (RFC 8705 §3.1), left out for a bearer token as
	// omitempty leaves out a nil pointer.
	dst = claims.AppendConfirmation(dst, t.JKT, t.X5T)
	// act names who acts for the subject of an exchanged token (RFC 8693
	// §4.1), left out otherwise.
	dst = claims.AppendActor(dst, `,"act":`, t.Actor)
	return append(dst, '}')
}

// appendOptionalString appends member and v unless v is empty, as
// omitempty does for a string.
func appendOptionalString(dst []byte, member, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, member...)
	return jsonwire.AppendString(dst, v)
}

// appendOptionalDate appends member and d unless d is zero, as omitempty
// does for a NumericDate.
func appendOptionalDate(dst []byte, member string, d claims.NumericDate) []byte {
	if d == 0 {
		return dst
	}
	dst = append(dst, member...)
	return strconv.AppendInt(dst, int64(d), 10)
}
