package echohttp

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/adapters/internal/requestid"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// resourceAPI serves the protected resource: countries.
type resourceAPI struct {
	authorize *application.AuthorizeBearer
	get       *application.GetCountry
	list      *application.ListCountries
	// base is the server's base path; publicURL, when set, the URL
	// clients reach it at, for the htu of DPoP proofs; dpopAlgs the
	// proof algorithms accepted, for the DPoP challenge, empty when the
	// server does not accept DPoP.
	base      string
	publicURL string
	dpopAlgs  string
	// certs finds the certificate a bound token must come with (RFC 8705 §3).
	certs certSource
	// metadataURL, when set, is where the RFC 9728 metadata is, for the
	// resource_metadata of the Bearer challenge (§5.1).
	metadataURL string
}

// resourceRoute is one route of the resource server and the scopes a
// bearer token needs to reach it.
type resourceRoute struct {
	method string
	path   string // relative to Options.BasePath
	scopes []string
	handle func(resourceAPI, echo.Context) error
}

// resourceRoutes are the resource server's routes: the one place that says
// which scopes each needs.
var resourceRoutes = []resourceRoute{
	{http.MethodGet, "/country", []string{"country.read"}, resourceAPI.listCountries},
	{http.MethodGet, "/country/code/:code", []string{"country.read"}, resourceAPI.getCountry},
}

// requireScopes returns middleware that lets a request through only with a
// valid bearer token carrying every one of scopes (RFC 6750) and, when the
// use case is given this server's identifier, addressed to it (RFC 8707).
// The scope set is built here, once per route.
func (r resourceAPI) requireScopes(scopes ...string) echo.MiddlewareFunc {
	required := domain.NewScopes(scopes...)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			raw, dpop, err := accessToken(req)
			if err != nil {
				return r.failed(dpop, err)
			}
			// The request id goes with the check, so an introspection call
			// made for it carries the same id to the authorization server.
			ctx := requestid.With(req.Context(), c.Response().Header().Get(echo.HeaderXRequestID))
			in := application.AuthorizeBearerInput{Token: raw, Required: required}
			if dpop {
				in.DPoP, in.DPoPProofs, in.Method, in.URL = true, req.Header.Values(headerDPoP), req.Method, r.requestURL(req)
			}
			if in.Certificate, err = r.certs.thumbprint(req); err != nil {
				return r.failed(dpop, err)
			}
			tok, err := r.authorize.Handle(ctx, in)
			if err != nil {
				return r.failed(dpop, err)
			}
			noteClient(c, tok.ClientID) // for the access line
			return next(c)
		}
	}
}

var (
	errEmptyBearer     = domain.ErrInvalidRequest.With("the bearer token is empty")
	errMalformedBearer = domain.ErrInvalidRequest.With("the bearer token is malformed")
	errManyAuthHeaders = domain.ErrInvalidRequest.With("more than one authorization header")
)

// bearerToken takes the access token from the Authorization header
// (RFC 6750 §2.1). The form-body (§2.2) and query (§2.3) methods are not
// accepted on purpose: a query string ends up in logs, caches and browser
// history, and these routes are GETs without a body.
//
// No header, or another scheme, is a request without authentication
// (errNoBearer); a Bearer header without a well-formed token is
// invalid_request (§3.1).
func bearerToken(req *http.Request) (string, error) {
	values := req.Header.Values(echo.HeaderAuthorization)
	if len(values) == 0 {
		return "", errNoBearer
	}
	if len(values) > 1 {
		return "", errManyAuthHeaders
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") { // auth-scheme is case-insensitive (RFC 9110 §11.1)
		return "", errNoBearer
	}
	token := strings.TrimLeft(rest, " ") // credentials = "Bearer" 1*SP b64token
	if token == "" {
		return "", errEmptyBearer
	}
	if !isB64Token(token) {
		return "", errMalformedBearer
	}
	return token, nil
}

// isB64Token reports whether s is a b64token (RFC 6750 §2.1):
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') &&
			c != '-' && c != '.' && c != '_' && c != '~' && c != '+' && c != '/' {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// countryJSON is a country as the seed documents show it: alpha-3 code
// and name.
type countryJSON struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func toCountryJSON(c domain.Country) countryJSON { return countryJSON{Code: c.Alpha3, Name: c.Name} }

// getCountry answers GET {base}/country/code/:code; the code is alpha-2 or
// alpha-3, in any case.
func (r resourceAPI) getCountry(c echo.Context) error {
	code := c.Param("code")
	country, err := r.get.Handle(c.Request().Context(), code)
	if errors.Is(err, domain.ErrNotFound) {
		// The use case found the code well formed (two or three letters),
		// so it is safe to echo.
		return &describedError{err: err, description: "no country with code " + strings.ToUpper(code)}
	}
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, appendCountry(make([]byte, 0, 64), country))
}

// countryPageJSON is one page of the country list.
type countryPageJSON struct {
	Countries []countryJSON `json:"countries"`
	Page      int           `json:"page"`
	PageSize  int           `json:"page_size"`
	Total     int           `json:"total"`
}

var (
	errPageNotInt     = domain.ErrInvalidRequest.With("page must be an integer")
	errPageSizeNotInt = domain.ErrInvalidRequest.With("page_size must be an integer")
)

// listCountries answers GET {base}/country?page=&page_size=; absent
// parameters take the use case's defaults.
func (r resourceAPI) listCountries(c echo.Context) error {
	query := c.Request().URL.Query()
	page, err := optionalInt(query.Get("page"), errPageNotInt)
	if err != nil {
		return err
	}
	size, err := optionalInt(query.Get("page_size"), errPageSizeNotInt)
	if err != nil {
		return err
	}
	out, err := r.list.Handle(c.Request().Context(), application.ListCountriesInput{Page: page, PageSize: size})
	if err != nil {
		return err
	}
	countries := make([]countryJSON, len(out.Countries)) // [] rather than null when empty
	for i, country := range out.Countries {
		countries[i] = toCountryJSON(country)
	}
	return writeJSON(c, http.StatusOK, countryPageJSON{
		Countries: countries,
		Page:      out.Page,
		PageSize:  out.PageSize,
		Total:     out.Total,
	})
}

// optionalInt parses s, giving 0 (the use case's default) when it is empty.
func optionalInt(s string, malformed error) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, malformed
	}
	return n, nil
}
