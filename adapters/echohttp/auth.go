package echohttp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// authAPI serves the authorization server's endpoints.
type authAPI struct {
	issue      *application.IssueToken
	introspect *application.Introspect
	jwks       *application.PublishJWKS
}

// tokenResponse is a successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	Scope       string `json:"scope,omitempty"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// token is the token endpoint (RFC 6749 §3.2), client_credentials grant
// (§4.4).
func (a authAPI) token(c echo.Context) error {
	req := c.Request()
	form, err := readForm(req)
	if err != nil {
		return failedAt(tokenEndpoint, false, err)
	}
	creds, basic, err := clientCredentials(req, form)
	if err != nil {
		return failedAt(tokenEndpoint, basic, err)
	}
	out, err := a.issue.Handle(req.Context(), application.IssueTokenInput{
		Credentials: creds,
		GrantType:   form.Get("grant_type"),
		Scope:       form.Get("scope"),
	})
	if err != nil {
		return failedAt(tokenEndpoint, basic, err)
	}
	// RFC 6749 §5.1: a response carrying a token must not be cached.
	h := c.Response().Header()
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Set("Pragma", "no-cache")
	return writeJSON(c, http.StatusOK, tokenResponse{
		AccessToken: out.AccessToken,
		Scope:       out.Scope,
		TokenType:   out.TokenType,
		ExpiresIn:   out.ExpiresIn,
	})
}

// introspectionResponse is an active token's introspection (RFC 7662
// §2.2), fields in the order the seed documents show them.
type introspectionResponse struct {
	Active    bool     `json:"active"`
	Subject   string   `json:"sub,omitempty"`
	Audience  []string `json:"aud,omitempty"`
	NotBefore int64    `json:"nbf,omitempty"`
	Scope     string   `json:"scope,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat,omitempty"`
	ID        string   `json:"jti,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	TokenType string   `json:"token_type"`
}

// inactive is the whole answer for a token that is not active: RFC 7662
// §2.2 says to tell nothing more.
var inactive = []byte(`{"active":false}`)

// introspection is the introspection endpoint (RFC 7662 §2). It takes
// token_type_hint but does not need it (§2.1 lets the server ignore it):
// tokens are told apart by their shape.
func (a authAPI) introspection(c echo.Context) error {
	req := c.Request()
	form, err := readForm(req)
	if err != nil {
		return failedAt(introspectionEndpoint, false, err)
	}
	creds, basic, err := clientCredentials(req, form)
	if err != nil {
		return failedAt(introspectionEndpoint, basic, err)
	}
	out, err := a.introspect.Handle(req.Context(), application.IntrospectInput{
		Credentials: creds,
		Token:       form.Get("token"),
	})
	if err != nil {
		return failedAt(introspectionEndpoint, basic, err)
	}
	// The answer describes a live credential: never cache it.
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	if !out.Active {
		return c.JSONBlob(http.StatusOK, inactive)
	}
	t := out.Token
	return writeJSON(c, http.StatusOK, introspectionResponse{
		Active:    true,
		Subject:   t.Subject,
		Audience:  t.Audience,
		NotBefore: unixSeconds(t.NotBefore),
		Scope:     t.Scopes.String(),
		Issuer:    t.Issuer,
		ExpiresAt: unixSeconds(t.ExpiresAt),
		IssuedAt:  unixSeconds(t.IssuedAt),
		ID:        t.ID,
		ClientID:  t.ClientID,
		TokenType: domain.TokenTypeBearer,
	})
}

// unixSeconds is a NumericDate (RFC 7519 §2); zero for an unset time, so
// that omitempty drops it.
func unixSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// jwksDocument publishes the key set (RFC 7517 §5). Resource servers cache
// it for as long as the use case says.
func (a authAPI) jwksDocument(c echo.Context) error {
	out, err := a.jwks.Handle(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age="+strconv.FormatInt(int64(out.MaxAge/time.Second), 10))
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, out.JSON)
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
