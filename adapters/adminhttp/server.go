// Package adminhttp is the admin API of the management listener, built on
// Echo v4: clients, their secrets, the signing keys, the revocation of
// every token of a client, and the trusted external issuers, under /admin/v1, documented by the OpenAPI file
// it serves at /admin/v1/openapi.yaml. Each handler parses the request,
// calls one operation and writes the answer; errors become
// application/problem+json (RFC 9457) in one place, handleError.
package adminhttp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/adapters/internal/adminwire"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Prefix is where the admin API's routes live on the management listener.
const Prefix = "/admin/v1"

// OpenAPIPath is the route of the API's description.
const OpenAPIPath = Prefix + "/openapi.yaml"

// openAPI is the hand-written OpenAPI 3.1 description of the routes below;
// TestOpenAPIListsEveryRoute keeps the two the same.
//
//go:embed openapi.yaml
var openAPI []byte

// Operations are what the admin API does. bootstrap.Admin implements them
// over the use cases, and adminclient.Client over this API, so that the
// CLI can work either way with the same code.
type Operations interface {
	// CreateClient registers a new client; an id in use gives
	// domain.ErrConflict.
	CreateClient(ctx context.Context, in application.RegisterClientInput) (domain.Client, error)
	// ApplyClient creates or replaces a client.
	ApplyClient(ctx context.Context, in application.RegisterClientInput) (application.ApplyClientResult, error)
	GetClient(ctx context.Context, id string) (domain.Client, error)
	ListClients(ctx context.Context) ([]domain.Client, error)
	PatchClient(ctx context.Context, id string, p application.ClientPatch) (domain.Client, error)
	DeleteClient(ctx context.Context, id string) error
	AddSecret(ctx context.Context, clientID string, s application.SecretSpec) (application.AddedSecret, error)
	// ExpireSecret ends a secret's validity at at, or now for zero, and
	// returns when it ends.
	ExpireSecret(ctx context.Context, clientID, secretID string, at time.Time) (time.Time, error)
	// RevokeClientTokens revokes every token of the client and returns
	// the revocation time.
	RevokeClientTokens(ctx context.Context, clientID string) (time.Time, error)
	ListKeys(ctx context.Context) ([]domain.SigningKey, error)
	// RotateKeys publishes a new signing key now.
	RotateKeys(ctx context.Context) (application.RotateResult, error)
	RevokeKey(ctx context.Context, kid string) (application.RevokeResult, error)
	// ListFederatedIssuers returns the trust relationships the API
	// manages, ordered by issuer (the federation file's are in the file).
	ListFederatedIssuers(ctx context.Context) ([]application.FederatedIssuerSpec, error)
	GetFederatedIssuer(ctx context.Context, iss string) (application.FederatedIssuerSpec, error)
	// ApplyFederatedIssuer creates or replaces one; an entry that does
	// not hold together is an *application.FederationEntryError, an
	// issuer of the federation file application.ErrFileIssuer.
	ApplyFederatedIssuer(ctx context.Context, s application.FederatedIssuerSpec) (application.ApplyFederatedIssuerResult, error)
	DeleteFederatedIssuer(ctx context.Context, iss string) error
}

// Options configure the API.
type Options struct {
	// TokenSHA256 is the SHA-256 of the admin token. Empty refuses every
	// request: the API is off.
	TokenSHA256 []byte
	// ClientCertificates admits, as well, a request over TLS whose client
	// certificate the listener verified (its ClientCAs are the admin
	// CAs): the listener is configured for it.
	ClientCertificates bool
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
	// Logger receives one line per request and internal errors.
	Logger *slog.Logger
}

type server struct {
	ops  Operations
	opts Options
	log  *slog.Logger
}

// New returns the admin API's handler, to be mounted at Prefix.
func New(ops Operations, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 64 << 10
	}
	s := &server{ops: ops, opts: opts, log: opts.Logger}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.accessLog)
	e.GET(OpenAPIPath, s.openAPI)
	g := e.Group(Prefix, s.authenticate)
	for _, r := range s.routes() {
		g.Add(r.method, r.path, r.handler)
	}
	return e
}

type route struct {
	method, path string
	handler      echo.HandlerFunc
}

// routes are the authenticated routes, relative to Prefix.
func (s *server) routes() []route {
	return []route{
		{http.MethodGet, "/clients", s.listClients},
		{http.MethodPost, "/clients", s.createClient},
		{http.MethodGet, "/clients/:id", s.getClient},
		{http.MethodPut, "/clients/:id", s.replaceClient},
		{http.MethodPatch, "/clients/:id", s.patchClient},
		{http.MethodDelete, "/clients/:id", s.deleteClient},
		{http.MethodPost, "/clients/:id/secrets", s.addSecret},
		{http.MethodPost, "/clients/:id/secrets/:secret_id/expire", s.expireSecret},
		{http.MethodPost, "/clients/:id/revoke-tokens", s.revokeTokens},
		{http.MethodGet, "/keys", s.listKeys},
		{http.MethodPost, "/keys/rotate", s.rotateKeys},
		{http.MethodPost, "/keys/:kid/revoke", s.revokeKey},
		{http.MethodGet, "/federation/issuers", s.listFederatedIssuers},
		{http.MethodGet, "/federation/issuers/:issuer", s.getFederatedIssuer},
		{http.MethodPut, "/federation/issuers/:issuer", s.applyFederatedIssuer},
		{http.MethodDelete, "/federation/issuers/:issuer", s.deleteFederatedIssuer},
	}
}

// authenticate admits a request carrying the admin token as a bearer
// token (RFC 6750 §2.1), compared by its SHA-256 in constant time: the
// token itself is never held. Loopback is no exception.
func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.opts.ClientCertificates && clientCertificate(c.Request()) != "" {
			return next(c)
		}
		if len(s.opts.TokenSHA256) != sha256.Size {
			if s.opts.ClientCertificates {
				return problem(http.StatusUnauthorized, "unauthorized", "a client certificate of the admin CAs is required")
			}
			return problem(http.StatusUnauthorized, "admin_api_off",
				"the admin API is off: start sigil with admin-token-file or admin-token-sha256")
		}
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			// RFC 7235 §2.1: the scheme is case-insensitive.
			if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
				token, ok = h[7:], true
			}
		}
		if !ok || token == "" {
			return problem(http.StatusUnauthorized, "unauthorized", "an admin token is required: Authorization: Bearer <token>")
		}
		sum := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(sum[:], s.opts.TokenSHA256) != 1 {
			return &apiError{status: http.StatusUnauthorized, code: "unauthorized", detail: "the admin token is wrong", badToken: true}
		}
		return next(c)
	}
}

// clientCertificate is the subject of the client certificate the TLS
// handshake verified, "" when there is none.
func clientCertificate(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return ""
	}
	return r.TLS.VerifiedChains[0][0].Subject.String()
}

// accessLog writes one line per request, without its headers or body,
// naming the client certificate when one was verified.
func (s *server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		r := c.Request()
		attrs := []slog.Attr{
			slog.String("role", "admin"), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", c.Response().Status), slog.Float64("duration_s", time.Since(start).Seconds()),
			slog.String("remote_addr", c.RealIP()),
		}
		if subject := clientCertificate(r); subject != "" {
			attrs = append(attrs, slog.String("client_certificate", subject))
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		return nil
	}
}

func (s *server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", openAPI)
}

// body reads the request body, bounded.
func (s *server) body(c echo.Context) ([]byte, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, s.opts.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, problem(http.StatusRequestEntityTooLarge, "too_large", "the body is larger than max-body-bytes")
	}
	if err != nil {
		return nil, problem(http.StatusBadRequest, "invalid_request", "the body could not be read")
	}
	return raw, nil
}

// param is a path parameter, unescaped.
func param(c echo.Context, name string) (string, error) {
	v, err := url.PathUnescape(c.Param(name))
	if err != nil || v == "" {
		return "", problem(http.StatusBadRequest, "invalid_request", name+" is not a valid path segment")
	}
	return v, nil
}

// registration reads a client registration from the body.
func (s *server) registration(c echo.Context) (application.RegisterClientInput, error) {
	raw, err := s.body(c)
	if err != nil {
		return application.RegisterClientInput{}, err
	}
	return DecodeClient(raw)
}

// DecodeClient reads a client as POST and PUT take it: a clients file's
// entry in JSON, with its defaults and its messages. A body that is not
// that JSON is domain.ErrInvalidRequest; a client that does not hold
// together is domain.ErrInvalidClientMetadata, from RegisterClient.
func DecodeClient(raw []byte) (application.RegisterClientInput, error) {
	var d adminwire.Client
	if err := adminwire.Decode(raw, &d); err != nil {
		return application.RegisterClientInput{}, domain.ErrInvalidRequest.With(err.Error())
	}
	return d.ToRegistration()
}

func (s *server) listClients(c echo.Context) error {
	list, err := s.ops.ListClients(c.Request().Context())
	if err != nil {
		return err
	}
	out := adminwire.ClientList{Clients: []adminwire.ClientView{}}
	for _, cl := range list {
		out.Clients = append(out.Clients, adminwire.ViewOf(cl))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) createClient(c echo.Context) error {
	in, err := s.registration(c)
	if err != nil {
		return err
	}
	cl, err := s.ops.CreateClient(c.Request().Context(), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, Prefix+"/clients/"+url.PathEscape(cl.ID))
	return c.JSON(http.StatusCreated, adminwire.ViewOf(cl))
}

func (s *server) getClient(c echo.Context) error {
	id, err := param(c, "id")
	if err != nil {
		return err
	}
	cl, err := s.ops.GetClient(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminwire.ViewOf(cl))
}

func (s *server) replaceClient(c echo.Context) error {
	id, err := param(c, "id")
	if err != nil {
		return err
	}
	in, err := s.registration(c)
	if err != nil {
		return err
	}
	switch in.Client.ID {
	case "":
		in.Client.ID = id
	case id:
	default:
		return problem(http.StatusUnprocessableEntity, "invalid_client_metadata", "the body's id differs from the path's")
	}
	res, err := s.ops.ApplyClient(c.Request().Context(), in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	return c.JSON(status, adminwire.ViewOf(res.Client))
}

func (s *server) patchClient(c echo.Context) error {
	id, err := param(c, "id")
	if err != nil {
		return err
	}
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct != "" && !strings.HasPrefix(ct, "application/merge-patch+json") && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return problem(http.StatusUnsupportedMediaType, "unsupported_media_type", "PATCH takes a JSON merge patch (application/merge-patch+json)")
	}
	raw, err := s.body(c)
	if err != nil {
		return err
	}
	p, err := adminwire.DecodePatch(raw, id)
	if err != nil {
		return err
	}
	cl, err := s.ops.PatchClient(c.Request().Context(), id, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminwire.ViewOf(cl))
}

func (s *server) deleteClient(c echo.Context) error {
	id, err := param(c, "id")
	if err != nil {
		return err
	}
	if err := s.ops.DeleteClient(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) addSecret(c echo.Context) error {
	id, err := param(c, "id")
	if err != nil {
		return err
	}
	var w adminwire.Secret
	if raw, err := s.body(c); err != nil {
		return err
	} else if len(strings.TrimSpace(string(raw))) > 0 {
		if err := adminwire.Decode(raw, &w); err != nil {
			return problem(http.StatusBadRequest, "invalid_request", err.Error())
		}
	}
	spec, err := w.ToSpec()
	if err != nil {
		return err
	}
	added, err := s.ops.AddSecret(c.Request().Context(), id, spec)
	if err != nil {
		return err
	}
	// The answer holds a secret the server made: never cached.
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, adminwire.Secret{ID: added.ID, Secret: added.Secret, ExpiresAt: adminwire.FormatTime(added.ExpiresAt)})
}

func (s *server) expireSecret(c echo.Context) error {
	id, err := param(c, "id")
	if err != nil {
		return err
	}
	secretID, err := param(c, "secret_id")
	if err != nil {
		return err
	}
	var w adminwire.Expiry
	if raw, err := s.body(c); err != nil {
		return err
	} else if len(strings.TrimSpace(string(raw))) > 0 {
		if err := adminwire.Decode(raw, &w); err != nil {
			return problem(http.StatusBadRequest, "invalid_request", err.Error())
		}
	}
	at, err := adminwire.ParseTime(w.At)
	if err != nil {
		return problem(http.StatusUnprocessableEntity, "invalid_client_metadata", "at: "+err.Error())
	}
	until, err := s.ops.ExpireSecret(c.Request().Context(), id, secretID, at)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminwire.Expiry{ID: secretID, ExpiresAt: adminwire.FormatTime(until)})
}

func (s *server) revokeTokens(c echo.Context) error {
	id, err := param(c, "id")
	if err != nil {
		return err
	}
	at, err := s.ops.RevokeClientTokens(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminwire.TokensRevoked{ClientID: id, IssuedBefore: adminwire.FormatTime(at)})
}

func (s *server) listKeys(c echo.Context) error {
	keys, err := s.ops.ListKeys(c.Request().Context())
	if err != nil {
		return err
	}
	out := adminwire.KeyList{Keys: []adminwire.Key{}}
	for _, k := range keys {
		out.Keys = append(out.Keys, adminwire.KeyOf(k))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) rotateKeys(c echo.Context) error {
	res, err := s.ops.RotateKeys(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminwire.RotationOf(res))
}

func (s *server) revokeKey(c echo.Context) error {
	kid, err := param(c, "kid")
	if err != nil {
		return err
	}
	res, err := s.ops.RevokeKey(c.Request().Context(), kid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminwire.KeyRevocationOf(res))
}

// FederatedIssuerPath is where the entry of iss lives: the issuer URL
// path-escaped into one segment.
func FederatedIssuerPath(iss string) string {
	return "/federation/issuers/" + url.PathEscape(iss)
}

func (s *server) listFederatedIssuers(c echo.Context) error {
	list, err := s.ops.ListFederatedIssuers(c.Request().Context())
	if err != nil {
		return err
	}
	out := adminwire.FederatedIssuerList{Issuers: []adminwire.FederatedIssuer{}}
	for _, f := range list {
		out.Issuers = append(out.Issuers, adminwire.FederatedIssuerOf(f))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) getFederatedIssuer(c echo.Context) error {
	iss, err := param(c, "issuer")
	if err != nil {
		return err
	}
	f, err := s.ops.GetFederatedIssuer(c.Request().Context(), iss)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminwire.FederatedIssuerOf(f))
}

func (s *server) applyFederatedIssuer(c echo.Context) error {
	iss, err := param(c, "issuer")
	if err != nil {
		return err
	}
	raw, err := s.body(c)
	if err != nil {
		return err
	}
	var w adminwire.FederatedIssuer
	if err := adminwire.Decode(raw, &w); err != nil {
		return problem(http.StatusBadRequest, "invalid_request", err.Error())
	}
	switch w.Issuer {
	case "":
		w.Issuer = iss
	case iss:
	default:
		return problem(http.StatusUnprocessableEntity, "invalid_federated_issuer", "the body's issuer differs from the path's")
	}
	spec, err := w.ToSpec()
	if err != nil {
		return err
	}
	res, err := s.ops.ApplyFederatedIssuer(c.Request().Context(), spec)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
		c.Response().Header().Set(echo.HeaderLocation, Prefix+FederatedIssuerPath(iss))
	}
	return c.JSON(status, adminwire.FederatedIssuerOf(res.Spec))
}

func (s *server) deleteFederatedIssuer(c echo.Context) error {
	iss, err := param(c, "issuer")
	if err != nil {
		return err
	}
	if err := s.ops.DeleteFederatedIssuer(c.Request().Context(), iss); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
