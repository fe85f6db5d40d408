// Package echohttp is Sigil's HTTP adapter, built on Echo v4. It serves the
// authorization server (token, introspection, revocation, JWKS and metadata
// endpoints) and the protected resource server (countries). It holds no
// business logic: each handler parses the request, calls one use case and
// maps the answer; every error becomes a response in one place,
// handleError.
package echohttp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
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
	// TrustedProxies are the networks of the reverse proxies whose
	// X-Forwarded-For is believed. Without any, a client's address is
	// the connection's peer and the header is ignored.
	TrustedProxies []netip.Prefix
	// Metrics, when not nil, counts and times every request under the
	// role label Role.
	Metrics *HTTPMetrics
	Role    string
	// PublicURL is the resource server's URL as clients reach it, its
	// base path included (e.g. https://api.example.com/ms-system): what
	// the htu of a DPoP proof must name behind a proxy that changes the
	// scheme, host or path. Empty means the request's own.
	PublicURL string
	// ClientCerts say where TLS client certificates (RFC 8705) come from.
	ClientCerts ClientCerts

	// Tracing, when not nil, reports each request as a span and puts its
	// trace id in the access line.
	Tracing *Tracing
}

// Paths of the authorization server's endpoints, relative to
// Options.BasePath. The issuer URL plus one of these is the endpoint's URL,
// so the RFC 8414 metadata built from them names the routes served here.
const (
	TokenPath         = "/oauth2/token"
	IntrospectionPath = "/oauth2/introspect"
	RevocationPath    = "/oauth2/revoke"
	JWKSPath          = "/oauth2/jwks"
	// MetadataPath is the well-known suffix of RFC 8414 §3. It is served
	// both under the base path and, as §3.1 has it for an issuer with a
	// path, at the root followed by the base path.
	MetadataPath = "/.well-known/oauth-authorization-server"
)

// AuthHandlers are the use cases the authorization server serves; all are
// required.
type AuthHandlers struct {
	Issue      *application.IssueToken
	Introspect *application.Introspect
	Revoke     *application.RevokeToken
	JWKS       *application.PublishJWKS
	Metadata   *application.PublishMetadata
	// Registration, when its use cases are set, serves dynamic client
	// registration (RFC 7591) and management (RFC 7592).
	Registration Registration
	// Playground, when set, is served at {base}/playground and below,
	// with PlaygroundAPI's endpoints when its use cases are set.
	Playground    http.Handler
	PlaygroundAPI PlaygroundAPI
}

// Registration are the use cases of dynamic client registration and the
// endpoint's absolute URL (the issuer's, plus RegistrationPath), for the
// registration_client_uri of the answers. Register nil turns it off.
type Registration struct {
	Register *application.RegisterDynamicClient
	Manage   *application.ManageRegistration
	Endpoint string
}

// ResourceHandlers are the use cases the resource server serves.
type ResourceHandlers struct {
	Authorize     *application.AuthorizeBearer
	GetCountry    *application.GetCountry
	ListCountries *application.ListCountries
	// DPoPAlgorithms are the proof algorithms Authorize accepts, for the
	// DPoP challenge (RFC 9449 §7.1); none when it accepts no DPoP.
	DPoPAlgorithms []string
	// Metadata, when set, is published at the RFC 9728 well-known paths
	// and named in the Bearer challenges (§5.1). Its Resource must parse
	// as a URL (bootstrap checks the settings it comes from).
	Metadata *ResourceMetadata
	// Playground: see ResourcePlayground.
	Playground ResourcePlayground
}

// NewAuthServer builds the authorization server: POST {base}/oauth2/token,
// POST {base}/oauth2/introspect, POST {base}/oauth2/revoke,
// GET {base}/oauth2/jwks, the metadata document at
// GET {base}/.well-known/oauth-authorization-server and
// GET /.well-known/oauth-authorization-server{base}, and the health routes.
// The caller serves it as an http.Handler.
func NewAuthServer(opts Options, h AuthHandlers) *echo.Echo {
	e, s := newServer(opts)
	a := authAPI{issue: h.Issue, introspect: h.Introspect, revoke: h.Revoke, jwks: h.JWKS, metadata: h.Metadata,
		certs: newCertSource(opts, s.log)}
	e.POST(s.base+TokenPath, a.token)
	e.POST(s.base+IntrospectionPath, a.introspection)
	e.POST(s.base+RevocationPath, a.revocation)
	e.GET(s.base+JWKSPath, a.jwksDocument)
	if h.Registration.Register != nil {
		r := registrationAPI{register: h.Registration.Register, manage: h.Registration.Manage, endpoint: h.Registration.Endpoint}
		e.POST(s.base+RegistrationPath, r.registerClient)
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			e.Add(m, s.base+RegistrationPath+"/:client_id", r.manageClient)
		}
	}
	// RFC 8414 §3.1 inserts the well-known segment between host and path:
	// issuer https://host/ms-auth-server publishes at
	// https://host/.well-known/oauth-authorization-server/ms-auth-server.
	// The form that appends the suffix to the issuer, as OpenID Connect
	// Discovery does (RFC 8414 §5 compares the two), is served too, since
	// many clients look there. With no base path both are the same route.
	e.GET(MetadataPath+s.base, a.serverMetadata)
	if s.base != "" {
		e.GET(s.base+MetadataPath, a.serverMetadata)
	}
	if h.Playground != nil {
		page := echo.WrapHandler(h.Playground)
		e.GET(s.base+PlaygroundPath, page)
		e.GET(s.base+PlaygroundPath+"/*", page)
		if api := (playgroundAPI{h.PlaygroundAPI}); api.Expired != nil && api.Rotate != nil {
			e.POST(s.base+PlaygroundExpiredTokenPath, api.expiredToken)
			e.POST(s.base+PlaygroundRotateKeysPath, api.rotateKeys)
		}
	}
	return e
}

// NewResourceServer builds the resource server: the routes of
// resourceRoutes under {base}, each behind a bearer-token check for its
// scopes, its metadata when h.Metadata is set, and the health routes. The
// caller serves it as an http.Handler.
func NewResourceServer(opts Options, h ResourceHandlers) *echo.Echo {
	e, s := newServer(opts)
	if p := h.Playground; p.Origin != "" {
		e.Use(corsFor(p.Origin))
		e.GET(s.base+PlaygroundEventsPath, echo.WrapHandler(p.Events))
	}
	r := resourceAPI{authorize: h.Authorize, get: h.GetCountry, list: h.ListCountries,
		base: s.base, publicURL: strings.TrimRight(opts.PublicURL, "/"), dpopAlgs: strings.Join(h.DPoPAlgorithms, " "),
		certs: newCertSource(opts, s.log)}
	if h.Metadata != nil {
		u, err := serveResourceMetadata(e, s.base, *h.Metadata, h.DPoPAlgorithms)
		if err != nil {
			panic("resource metadata: " + err.Error())
		}
		r.metadataURL = u
	}
	for _, route := range resourceRoutes {
		e.Add(route.method, s.base+route.path, func(c echo.Context) error { return route.handle(r, c) },
			r.requireScopes(route.scopes...))
	}
	return e
}

// server is what both roles share: logging, readiness and error mapping.
type server struct {
	base  string
	log   *slog.Logger
	ready func(ctx context.Context) error
	// metrics, when not nil, counts refusals under role.
	metrics *HTTPMetrics
	role    string

	traced bool // the access line names the request's trace
}

func newServer(opts Options) (*echo.Echo, *server) {
	s := &server{
		base:    strings.TrimRight(opts.BasePath, "/"),
		log:     opts.Logger,
		ready:   opts.Ready,
		metrics: opts.Metrics,
		role:    opts.Role,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.traced = opts.Tracing != nil
	maxBody := opts.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = defaultMaxBodyBytes
	}

	// Only Echo's router and handler chain are used: the server is an
	// http.Handler that bootstrap serves with an http.Server of its own
	// (timeouts, header limit, net/http's error log). Echo's Start, and
	// its banner, port line, StdLogger and Server, are never used.
	e := echo.New()
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = ipExtractor(opts.TrustedProxies)
	// Outermost first: the span, the metrics and the request log see the
	// final status, including that of a recovered panic or an oversized
	// body.
	if opts.Tracing != nil {
		e.Use(opts.Tracing.middleware())
	}
	if opts.Metrics != nil {
		e.Use(opts.Metrics.middleware(opts.Role))
	}
	e.Use(s.logRequests, recoverPanics, limitBody(maxBody))

	e.GET(healthPath, healthz)
	e.GET(readyPath, s.readyz)
	return e, s
}

var statusOK = []byte(`{"status":"ok"}`)

// NotReady is the error a readiness check returns to name the
// dependencies that do not answer; /readyz lists them. Their names are
// safe to show; the causes go to the log.
type NotReady struct {
	Down   []string
	Causes []error
}

func (e *NotReady) Error() string {
	return "not ready: " + strings.Join(e.Down, ", ") + ": " + errors.Join(e.Causes...).Error()
}

// readyBody is the JSON of /readyz when it is not ready.
type readyBody struct {
	Status string   `json:"status"`
	Down   []string `json:"down,omitempty"`
}

// healthz says the process serves HTTP; it checks nothing else, so that a
// dependency outage does not get the process restarted.
func healthz(c echo.Context) error { return c.JSONBlob(http.StatusOK, statusOK) }

// readyz says whether the server should get traffic and, if not, which
// dependencies are down (by name: "database", "redis"). Why goes to the
// log at debug level: the dependency's own gate already logged the
// outage, and orchestrators ask every few seconds.
func (s *server) readyz(c echo.Context) error {
	if s.ready != nil {
		ctx := c.Request().Context()
		if err := s.ready(ctx); err != nil {
			s.log.LogAttrs(ctx, slog.LevelDebug, "not ready", slog.String("error", err.Error()))
			body := readyBody{Status: "unavailable"}
			var nr *NotReady
			if errors.As(err, &nr) {
				body.Down = nr.Down
			}
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
			return c.JSON(http.StatusServiceUnavailable, body)
		}
	}
	return c.JSONBlob(http.StatusOK, statusOK)
}

// ipExtractor is how c.RealIP finds a client's address, for the failure
// throttle. Echo's default believes X-Forwarded-For and X-Real-IP from
// anyone, which would let an attacker pick a fresh address per guess; and
// ExtractIPFromXFFHeader on its own trusts every loopback, link-local and
// private address as a proxy. So: the connection's peer, unless it is one
// of the configured proxies, and then the header read from the right,
// skipping only those proxies.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
