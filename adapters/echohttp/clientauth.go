package echohttp

import (
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// How a client authenticates at the token, introspection and revocation
// endpoints (RFC 6749 §2.3, RFC 7523 §2.2), and the address it calls from,
// which the failure throttle counts by.

var (
	errBadBasic   = domain.ErrInvalidClient.With("malformed basic authorization header")
	errBadScheme  = domain.ErrInvalidClient.With("unsupported authorization scheme")
	errTwoMethods = domain.ErrInvalidRequest.With("use only one client authentication method")
	errOtherID    = domain.ErrInvalidRequest.With("client_id does not match the basic authorization header")
)

// clientCredentials reads how the client authenticates: with HTTP Basic or
// client_id and client_secret in the form (RFC 6749 §2.3.1), or with a JWT
// assertion in client_assertion_type and client_assertion, client_id being
// optional (RFC 7523 §2.2). basic reports whether the client used the
// Authorization header, which decides the challenge on failure (RFC 6749
// §5.2): an assertion that fails gets a 401 without one.
//
// A client must use one method only (RFC 6749 §2.3), so an assertion with
// a client_secret or a Basic header, or Basic with a client_secret in the
// body, is refused. A client_id in the body next to Basic is tolerated when
// it names the same client; next to an assertion, the use case checks it
// against the assertion's issuer.
func clientCredentials(req *http.Request, form url.Values) (creds application.ClientCredentials, basic bool, err error) {
	header := req.Header.Get(echo.HeaderAuthorization)
	assertion, assertionType := form.Get("client_assertion"), form.Get("client_assertion_type")
	hasAssertion := assertion != "" || assertionType != ""

	if header == "" {
		if hasAssertion {
			if form.Get("client_secret") != "" {
				return creds, false, errTwoMethods
			}
			// Method stays empty: the assertion's signature tells
			// client_secret_jwt from private_key_jwt.
			return application.ClientCredentials{
				ID:            form.Get("client_id"),
				Assertion:     assertion,
				AssertionType: assertionType,
			}, false, nil
		}
		return application.ClientCredentials{
			ID:     form.Get("client_id"),
			Secret: form.Get("client_secret"),
			Method: domain.AuthClientSecretPost,
		}, false, nil
	}

	if hasAssertion {
		return creds, true, errTwoMethods
	}
	scheme, encoded, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return creds, true, errBadScheme
	}
	id, secret, err := parseBasic(strings.TrimLeft(encoded, " "))
	if err != nil {
		return creds, true, err
	}
	if form.Get("client_secret") != "" {
		return creds, true, errTwoMethods
	}
	if bodyID := form.Get("client_id"); bodyID != "" && bodyID != id {
		return creds, true, errOtherID
	}
	return application.ClientCredentials{ID: id, Secret: secret, Method: domain.AuthClientSecretBasic}, true, nil
}

// parseBasic decodes Basic credentials. RFC 6749 §2.3.1 has the client id
// and secret form-urlencoded before they are joined with ':', so they are
// unescaped after splitting.
func parseBasic(encoded string) (id, secret string, err error) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", "", errBadBasic
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errBadBasic
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", errBadBasic
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", errBadBasic
	}
	return id, secret, nil
}

// clientAddress is the address the request came from, as the server's
// IP extractor tells it (see ipExtractor); the zero Addr if unreadable.
func clientAddress(c echo.Context) netip.Addr {
	a, _ := netip.ParseAddr(c.RealIP())
	return a
}

// clientForm reads the form of a request from a client that
// authenticates in it or with Basic: the form (repeatable names the
// parameters that may appear more than once), the credentials with the
// caller's address, and whether they came as Basic. Its errors are
// already answered as at endpoint.
func clientForm(c echo.Context, at endpoint, repeatable ...string) (url.Values, application.ClientCredentials, bool, error) {
	req := c.Request()
	form, err := readForm(req, repeatable...)
	if err != nil {
		return nil, application.ClientCredentials{}, false, failedAt(at, false, err)
	}
	creds, basic, err := clientCredentials(req, form)
	if err != nil {
		return nil, application.ClientCredentials{}, basic, failedAt(at, basic, err)
	}
	creds.Address = clientAddress(c)
	return form, creds, basic, nil
}
