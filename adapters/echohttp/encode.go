package echohttp

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/adapters/internal/jsonwire"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// The token endpoint, the introspection endpoint and the country lookup
// answer nearly every request with one of three fixed JSON shapes. They
// are written by hand rather than through encoding/json's reflection:
// these are the hottest responses of the two roles (issue 5), and a fixed
// shape needs no reflection. Tests check the bytes against encoding/json's
// for the same values. Every other response is a struct sent with
// writeJSON.

// appendTokenResponse writes a successful token response (RFC 6749 §5.1):
// access_token, scope when not empty, token_type, expires_in.
func appendTokenResponse(b []byte, out application.IssuedToken) []byte {
	b = append(b, `{"access_token":`...)
	b = jsonwire.AppendString(b, out.AccessToken)
	if out.Scope != "" {
		b = append(b, `,"scope":`...)
		b = jsonwire.AppendString(b, out.Scope)
	}
	b = append(b, `,"token_type":`...)
	b = jsonwire.AppendString(b, out.TokenType)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, out.ExpiresIn, 10)
	return append(b, '}')
}

// appendIntrospection writes an active token's introspection (RFC 7662
// §2.2), members in the order the seed documents show them; a member with
// no value is left out, except exp and token_type.
func appendIntrospection(b []byte, t domain.Token) []byte {
	b = append(b, `{"active":true`...)
	if t.Subject != "" {
		b = append(b, `,"sub":`...)
		b = jsonwire.AppendString(b, t.Subject)
	}
	if len(t.Audience) > 0 {
		b = append(b, `,"aud":`...)
		b = jsonwire.AppendStrings(b, t.Audience)
	}
	if n := unixSeconds(t.NotBefore); n != 0 {
		b = append(b, `,"nbf":`...)
		b = strconv.AppendInt(b, n, 10)
	}
	if len(t.Scopes) > 0 {
		b = append(b, `,"scope":`...)
		b = jsonwire.AppendScope(b, t.Scopes)
	}
	if t.Issuer != "" {
		b = append(b, `,"iss":`...)
		b = jsonwire.AppendString(b, t.Issuer)
	}
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, unixSeconds(t.ExpiresAt), 10)
	if n := unixSeconds(t.IssuedAt); n != 0 {
		b = append(b, `,"iat":`...)
		b = strconv.AppendInt(b, n, 10)
	}
	if t.ID != "" {
		b = append(b, `,"jti":`...)
		b = jsonwire.AppendString(b, t.ID)
	}
	if t.ClientID != "" {
		b = append(b, `,"client_id":`...)
		b = jsonwire.AppendString(b, t.ClientID)
	}
	b = append(b, `,"token_type":"`+domain.TokenTypeBearer+`"}`...)
	return b
}

// appendCountry writes a country as countryJSON documents it.
func appendCountry(b []byte, c domain.Country) []byte {
	b = append(b, `{"code":`...)
	b = jsonwire.AppendString(b, c.Alpha3)
	b = append(b, `,"name":`...)
	b = jsonwire.AppendString(b, c.Name)
	return append(b, '}')
}

// unixSeconds is a NumericDate (RFC 7519 §2); zero for an unset time, so
// that omitempty drops it.
func unixSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// writeJSON encodes v, a fixed response struct, and sends it. It avoids
// c.JSON, which parses the query string on every call to look for
// ?pretty.
func writeJSON(c echo.Context, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return c.JSONBlob(status, b)
}
