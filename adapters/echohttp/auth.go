package echohttp

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/application"
)

// authAPI serves the authorization server's endpoints.
type authAPI struct {
	issue      *application.IssueToken
	introspect *application.Introspect
	revoke     *application.RevokeToken
	jwks       *application.PublishJWKS
	metadata   *application.PublishMetadata
	// certs finds the client's TLS certificate (RFC 8705 §2).
	certs certSource
}

// token is the token endpoint (RFC 6749 §3.2): the client_credentials
// grant (§4.4) with resource indicators (RFC 8707 §2), the JWT bearer
// grant (RFC 7523 §2.1) and token exchange (RFC 8693 §2).
func (a authAPI) token(c echo.Context) error {
	req := c.Request()
	form, creds, basic, err := clientForm(c, tokenEndpoint, paramResource, paramAudience)
	if err != nil {
		return err
	}
	if creds.Certificate, err = a.certs.certificate(req); err != nil {
		return failedAt(tokenEndpoint, basic, err)
	}
	noteClient(c, creds.ID)
	out, err := a.issue.Handle(req.Context(), application.IssueTokenInput{
		Credentials: creds,
		GrantType:   form.Get("grant_type"),
		Scope:       form.Get("scope"),
		Resources:   resources(form, paramResource),
		DPoPProofs:  req.Header.Values(headerDPoP),
		Method:      req.Method,
		Assertion:   form.Get("assertion"),

		SubjectToken:       form.Get("subject_token"),
		SubjectTokenType:   form.Get("subject_token_type"),
		ActorToken:         form.Get("actor_token"),
		ActorTokenType:     form.Get("actor_token_type"),
		Audiences:          resources(form, paramAudience),
		RequestedTokenType: form.Get("requested_token_type"),
	})
	if err != nil {
		return failedAt(tokenEndpoint, basic, err)
	}
	noteClient(c, out.ClientID) // the assertion's issuer, if no client_id was sent
	// RFC 6749 §5.1: a response carrying a token must not be cached.
	h := c.Response().Header()
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Set("Pragma", "no-cache")
	if out.DPoPNonce != "" {
		h.Set(headerDPoPNonce, out.DPoPNonce)
	}
	return c.JSONBlob(http.StatusOK, appendTokenResponse(make([]byte, 0, 128+len(out.AccessToken)), out))
}

// introspection is the introspection endpoint (RFC 7662 §2). It takes
// token_type_hint but does not need it (§2.1 lets the server ignore it):
// tokens are told apart by their shape. A caller whose Accept header
// prefers application/token-introspection+jwt gets the answer as a signed
// JWT (RFC 9701 §4, §5); errors stay JSON (RFC 7662 §2.3).
func (a authAPI) introspection(c echo.Context) error {
	req := c.Request()
	form, creds, basic, err := clientForm(c, introspectionEndpoint)
	if err != nil {
		return err
	}
	if creds.Certificate, err = a.certs.certificate(req); err != nil {
		return failedAt(introspectionEndpoint, basic, err)
	}
	noteClient(c, creds.ID)
	asJWT := prefersIntrospectionJWT(req.Header.Values(echo.HeaderAccept))
	out, err := a.introspect.Handle(req.Context(), application.IntrospectInput{
		Credentials: creds,
		Token:       form.Get("token"),
		AsJWT:       asJWT,
	})
	if err != nil {
		return failedAt(introspectionEndpoint, basic, err)
	}
	h := c.Response().Header()
	// The answer describes a live credential: never cache it. It also
	// depends on Accept, which Vary says to any cache on the way.
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Add(echo.HeaderVary, echo.HeaderAccept)
	if asJWT {
		return c.Blob(http.StatusOK, mimeIntrospectionJWT, []byte(out.JWT))
	}
	// For a token that is not active, {"active":false}: RFC 7662 §2.2 says
	// to tell nothing more.
	return c.JSONBlob(http.StatusOK, claims.AppendIntrospection(make([]byte, 0, 512), out))
}

// revocation is the revocation endpoint (RFC 7009 §2). Success, including
// for a token the server does not know (§2.2), is 200 with an empty body:
// the client reads nothing but the status.
func (a authAPI) revocation(c echo.Context) error {
	req := c.Request()
	form, creds, basic, err := clientForm(c, revocationEndpoint)
	if err != nil {
		return err
	}
	if creds.Certificate, err = a.certs.certificate(req); err != nil {
		return failedAt(revocationEndpoint, basic, err)
	}
	noteClient(c, creds.ID)
	err = a.revoke.Handle(req.Context(), application.RevokeInput{
		Credentials:   creds,
		Token:         form.Get("token"),
		TokenTypeHint: form.Get("token_type_hint"),
	})
	if err != nil {
		return failedAt(revocationEndpoint, basic, err)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.NoContent(http.StatusOK)
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
