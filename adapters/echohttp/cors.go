package echohttp

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Paths of the playground (see ResourcePlayground and
// AuthHandlers.Playground), relative to each server's base path.
const (
	PlaygroundPath       = "/playground"
	PlaygroundEventsPath = "/playground/events"
)

// ResourcePlayground lets the playground page call the resource server
// from the browser: requests from Origin, and from no other, get the CORS
// headers (Fetch standard, "CORS protocol"), and Events is served at
// {base}/playground/events. An empty Origin turns both off.
type ResourcePlayground struct {
	Origin string
	Events http.Handler
}

// corsFor answers the CORS protocol for one origin: a preflight from it
// is allowed the GET with the headers the page sends; its other requests
// get Access-Control-Allow-Origin and may read the challenge and the
// request id. Requests without that Origin pass untouched, so no other
// answer changes.
func corsFor(allowed string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			h := c.Response().Header()
			if req.Header.Get(echo.HeaderOrigin) != allowed {
				return next(c)
			}
			h.Add(echo.HeaderVary, echo.HeaderOrigin)
			h.Set(echo.HeaderAccessControlAllowOrigin, allowed)
			if req.Method == http.MethodOptions && req.Header.Get(echo.HeaderAccessControlRequestMethod) != "" {
				h.Set(echo.HeaderAccessControlAllowMethods, http.MethodGet)
				h.Set(echo.HeaderAccessControlAllowHeaders, "Authorization, X-Request-Id")
				h.Set(echo.HeaderAccessControlMaxAge, "600")
				return c.NoContent(http.StatusNoContent)
			}
			h.Set(echo.HeaderAccessControlExposeHeaders, "WWW-Authenticate, X-Request-Id")
			return next(c)
		}
	}
}
