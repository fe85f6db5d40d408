package echohttp

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Paths of the playground's own endpoints on the authorization server,
// relative to its base path: the failure choices the browser cannot make
// alone.
const (
	PlaygroundExpiredTokenPath = "/playground/api/expired-token"
	PlaygroundRotateKeysPath   = "/playground/api/rotate-keys"
)

// PlaygroundAPI are the playground's endpoints, served only when the
// playground is (its use cases set). Browsers on another origin than
// Origin are refused: no other page can have a visitor's browser rotate
// the keys.
type PlaygroundAPI struct {
	Origin  string
	Expired *application.IssueExpiredDemoToken
	Rotate  *application.RotateDemoKeys
}

var errPlaygroundOrigin = domain.ErrInvalidRequest.With("the playground's endpoints answer its own page only")

type playgroundAPI struct{ PlaygroundAPI }

// sameOrigin refuses a browser request sent from another page's origin;
// one without Origin (curl) passes.
func (p playgroundAPI) sameOrigin(req *http.Request) error {
	if o := req.Header.Get(echo.HeaderOrigin); o != "" && o != p.Origin {
		return errPlaygroundOrigin
	}
	return nil
}

// expiredToken answers as the token endpoint does, client authentication
// included, with a JWT that expired an hour ago (demo JWT client only).
func (p playgroundAPI) expiredToken(c echo.Context) error {
	req := c.Request()
	if err := p.sameOrigin(req); err != nil {
		return err
	}
	form, creds, basic, err := clientForm(c, tokenEndpoint)
	if err != nil {
		return err
	}
	noteClient(c, creds.ID)
	out, err := p.Expired.Handle(req.Context(), application.IssueTokenInput{Credentials: creds, Scope: form.Get("scope")})
	if err != nil {
		return failedAt(tokenEndpoint, basic, err)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSONBlob(http.StatusOK, appendTokenResponse(make([]byte, 0, 128+len(out.AccessToken)), out))
}

// rotatedJSON names the key that signs after a playground rotation.
type rotatedJSON struct {
	KeyID string `json:"kid"`
}

// rotateKeys makes a new signing key active now (see
// application.RotateDemoKeys).
func (p playgroundAPI) rotateKeys(c echo.Context) error {
	if err := p.sameOrigin(c.Request()); err != nil {
		return err
	}
	kid, err := p.Rotate.Handle(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return writeJSON(c, http.StatusOK, rotatedJSON{KeyID: kid})
}
