package echohttp

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/adapters/internal/jsonwire"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// The token endpoint, the introspection endpoint and the country lookup
// answer nearly every request with one of three fixed JSON shapes. They
// are written by hand rather than through encoding/json's reflection:
// these are the hottest responses of the two roles (issue 5), and a fixed
// shape needs no reflection. Fuzz tests check the bytes against
// encoding/json's for the struct that defines each shape. The
// introspection answer is claims.AppendIntrospection, shared with the
// signed answer and the introspection client. Every other response is a
// struct sent with writeJSON.

// tokenResponseJSON is a successful token response (RFC 6749 §5.1), the
// shape appendTokenResponse writes: access_token, scope when not empty,
// token_type, expires_in, and for token exchange issued_token_type (RFC
// 8693 §2.2.1).
type tokenResponseJSON struct {
	AccessToken     string `json:"access_token"`
	Scope           string `json:"scope,omitempty"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	IssuedTokenType string `json:"issued_token_type,omitempty"`
}

func toTokenResponseJSON(out application.IssuedToken) tokenResponseJSON {
	return tokenResponseJSON{AccessToken: out.AccessToken, Scope: out.Scope, TokenType: out.TokenType, ExpiresIn: out.ExpiresIn, IssuedTokenType: out.IssuedTokenType}
}

// appendTokenResponse writes out as json.Marshal writes
// toTokenResponseJSON(out).
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
	if out.IssuedTokenType != "" {
		b = append(b, `,"issued_token_type":`...)
		b = jsonwire.AppendString(b, out.IssuedTokenType)
	}
	return append(b, '}')
}

// appendCountry writes c as json.Marshal writes toCountryJSON(c).
func appendCountry(b []byte, c domain.Country) []byte {
	b = append(b, `{"code":`...)
	b = jsonwire.AppendString(b, c.Alpha3)
	b = append(b, `,"name":`...)
	b = jsonwire.AppendString(b, c.Name)
	return append(b, '}')
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
