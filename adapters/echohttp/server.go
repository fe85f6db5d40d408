// Package echohttp is Sigil's HTTP adapter, built on Echo v4. It serves the
// authorization server (token, introspection and JWKS endpoints) and the
// protected resource server (countries). It holds no business logic: each
// handler parses the request, calls one use case and maps the answer; every
// error becomes a response in one place, handleError.
package echohttp

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/application"
)

// defaultMaxBodyBytes bounds request bodies when Options leaves it zero.
// Token and introspection requests are a few hundred bytes.
const defaultMaxBodyBytes = 64 << 10

// Health routes live at the root of each server, outside BasePath, where
// orchestrators look for them.
const (
	healthPath = "/healthz"
	readyPath  = "/readyz"
)

// Options configure either server.
type Options struct {
	// BasePath prefixes the API routes, e.g. "/ms-auth-server".
	BasePath string
	// MaxBodyBytes bounds request bodies; 0 means 64 KiB.
	MaxBodyBytes int64
	// Logger receives the request log and internal errors; nil discards.
	Logger *slog.Logger
	// Ready reports readiness for /readyz; nil means always ready.
	Ready func(ctx context.Context) error
}

// AuthHandlers are the use cases the authorization server serves.
type AuthHandlers struct {
	Issue      *application.IssueToken
	Introspect *application.Introspect
	JWKS       *application.PublishJWKS
}

// ResourceHandlers are the use cases the resource server serves.
type ResourceHandlers struct {
	Authorize     *application.AuthorizeBearer
	GetCountry    *application.GetCountry
	ListCountries *application.ListCountries
}

// NewAuthServer builds the authorization server: POST {base}/oauth2/token,
// POST {base}/oauth2/introspect, GET {base}/oauth2/jwks, and the health
// routes. The caller starts and stops it.
func NewAuthServer(opts Options, h AuthHandlers) *echo.Echo {
	e, s := newServer(opts)
	a := authAPI{issue: h.Issue, introspect: h.Introspect, jwks: h.JWKS}
	g := e.Group(s.base + "/oauth2")
	g.POST("/token", a.token)
	g.POST("/introspect", a.introspection)
	g.GET("/jwks", a.jwksDocument)
	return e
}

// NewResourceServer builds the resource server: GET {base}/country and
// GET {base}/country/code/:code, both requiring scope country.read, and the
// health routes. The caller starts and stops it.
func NewResourceServer(opts Options, h ResourceHandlers) *echo.Echo {
	e, s := newServer(opts)
	r := resourceAPI{authorize: h.Authorize, get: h.GetCountry, list: h.ListCountries}
	countryRead := r.requireScopes("country.read")
	g := e.Group(s.base + "/country")
	g.GET("", r.listCountries, countryRead)
	g.GET("/code/:code", r.getCountry, countryRead)
	return e
}

// server is what both roles share: logging, readiness and error mapping.
type server struct {
	base  string
	log   *slog.Logger
	ready func(ctx context.Context) error
}

func newServer(opts Options) (*echo.Echo, *server) {
	s := &server{
		base:  strings.TrimRight(opts.BasePath, "/"),
		log:   opts.Logger,
		ready: opts.Ready,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	maxBody := opts.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = defaultMaxBodyBytes
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	// net/http's own complaints (TLS handshakes, broken connections) go to
	// the same log; Echo hands StdLogger to the server it starts.
	e.StdLogger = slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	e.Server.ErrorLog = e.StdLogger
	e.HTTPErrorHandler = s.handleError
	// Outermost first: the request log sees the final status, including
	// that of a recovered panic or an oversized body.
	e.Use(s.logRequests, recoverPanics, limitBody(maxBody))

	e.GET(healthPath, healthz)
	e.GET(readyPath, s.readyz)
	return e, s
}

var (
	statusOK       = []byte(`{"status":"ok"}`)
	statusNotReady = []byte(`{"status":"unavailable"}`)
)

// healthz says the process serves HTTP; it checks nothing else, so that a
// dependency outage does not get the process restarted.
func healthz(c echo.Context) error { return c.JSONBlob(http.StatusOK, statusOK) }

// readyz says whether the server should get traffic. Why it is not ready
// goes to the log, not to whoever asks.
func (s *server) readyz(c echo.Context) error {
	if s.ready != nil {
		ctx := c.Request().Context()
		if err := s.ready(ctx); err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "not ready", slog.String("error", err.Error()))
			return c.JSONBlob(http.StatusServiceUnavailable, statusNotReady)
		}
	}
	return c.JSONBlob(http.StatusOK, statusOK)
}
