package adminhttp

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/adapters/internal/adminwire"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// apiError is an answer decided by the adapter itself.
type apiError struct {
	status       int
	code, detail string
	// badToken marks a wrong token, for the challenge's error attribute.
	badToken bool
}

func (e *apiError) Error() string { return e.code + ": " + e.detail }

func problem(status int, code, detail string) *apiError {
	return &apiError{status: status, code: code, detail: detail}
}

// handleError is Echo's HTTPErrorHandler: the one place an error becomes
// an answer, application/problem+json (RFC 9457) with a stable code. The
// text of an internal error is logged, never sent.
func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := s.problemOf(err, c)
	if p.Status == http.StatusUnauthorized {
		// RFC 6750 §3; error="invalid_token" only when a token was sent.
		challenge := `Bearer realm="sigil-admin"`
		var ae *apiError
		if errors.As(err, &ae) && ae.badToken {
			challenge += `, error="invalid_token"`
		}
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
	}
	if p.Status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "5")
	}
	body, _ := json.Marshal(p)
	_ = c.Blob(p.Status, "application/problem+json", body)
}

func (s *server) problemOf(err error, c echo.Context) adminwire.Problem {
	mk := func(status int, code, detail string) adminwire.Problem {
		return adminwire.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Code: code, Detail: detail}
	}
	var (
		ae *apiError
		de *domain.Error
		he *echo.HTTPError
		fe *application.FederationEntryError
	)
	switch {
	case errors.As(err, &ae):
		return mk(ae.status, ae.code, ae.detail)
	case errors.As(err, &fe):
		return mk(http.StatusUnprocessableEntity, "invalid_federated_issuer", fe.Reason)
	case errors.Is(err, application.ErrFileIssuer):
		return mk(http.StatusConflict, "conflict", "the federation file defines this issuer: change it there, or remove it from the file to manage it here")
	case errors.Is(err, domain.ErrNotFound):
		return mk(http.StatusNotFound, "not_found", notFoundDetail(c))
	case errors.Is(err, domain.ErrConflict):
		return mk(http.StatusConflict, "conflict", "it exists already")
	case errors.Is(err, domain.ErrTemporarilyUnavailable):
		return mk(http.StatusServiceUnavailable, "temporarily_unavailable", "a dependency does not answer; try again")
	case errors.As(err, &de) && (de.Code == domain.CodeInvalidClientMetadata):
		return mk(http.StatusUnprocessableEntity, string(de.Code), de.Description)
	case errors.As(err, &de) && de.Code == domain.CodeInvalidRequest:
		return mk(http.StatusBadRequest, string(de.Code), de.Description)
	case errors.As(err, &he) && he.Code < 500:
		// Echo's own: no route (404), a method the route lacks (405).
		return mk(he.Code, codeOfStatus(he.Code), http.StatusText(he.Code))
	}
	s.log.Error("admin API", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	return mk(http.StatusInternalServerError, "server_error", "")
}

// notFoundDetail says what was not found, from the route.
func notFoundDetail(c echo.Context) string {
	switch {
	case c.Param("secret_id") != "":
		return "no such client or secret"
	case c.Param("kid") != "":
		return "no such signing key"
	case c.Param("issuer") != "":
		return "no such federated issuer managed by the admin API"
	case c.Param("id") != "":
		return "no such client"
	}
	return "not found"
}

func codeOfStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	}
	return "invalid_request"
}
