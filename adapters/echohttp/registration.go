package echohttp

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/adapters/internal/registrationwire"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// RegistrationPath is the dynamic client registration endpoint (RFC 7591
// §3), relative to Options.BasePath; RegistrationPath + "/{client_id}" is
// each registered client's configuration endpoint (RFC 7592 §2).
const RegistrationPath = "/oauth2/register"

// registrationAPI serves registration and management.
type registrationAPI struct {
	register *application.RegisterDynamicClient
	manage   *application.ManageRegistration
	// endpoint is the registration endpoint's absolute URL, under the
	// issuer, for registration_client_uri.
	endpoint string
}

// isTooLarge tells a body past the limit, answered 413 before anything.
func isTooLarge(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge)
}

var errMetadataNotJSON = domain.ErrInvalidClientMetadata.With("the body must be a JSON object of client metadata (RFC 7591 §2)")

// readMetadata decodes the request body. A member of the wrong type is
// invalid_client_metadata too: the RFC has no other code for it.
func readMetadata(c echo.Context) (registrationwire.Metadata, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return registrationwire.Metadata{}, err // too large: 413, as everywhere; else the connection broke
	}
	var m registrationwire.Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return registrationwire.Metadata{}, errMetadataNotJSON
	}
	if len(m.JWKS) > 0 {
		// RFC 7591 §2: jwks is a JWK Set document, keys an array of
		// objects; whether Sigil can use the keys is seen at the first
		// assertion, as for a clients file.
		var set struct {
			Keys []map[string]json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(m.JWKS, &set); err != nil || len(set.Keys) == 0 {
			return registrationwire.Metadata{}, errJWKSNotASet
		}
	}
	return m, nil
}

var errJWKSNotASet = domain.ErrInvalidClientMetadata.With("jwks must be a JWK Set with at least one key (RFC 7517 §5)")

// presentedToken is the request's bearer token, or "" when it has none
// or a malformed one: the use case answers both invalid_token.
func presentedToken(req *http.Request) string {
	t, err := bearerToken(req)
	if err != nil {
		return ""
	}
	return t
}

// registerClient is POST {base}/oauth2/register (RFC 7591 §3.1): 201 with
// the client information (§3.2.1).
func (r registrationAPI) registerClient(c echo.Context) error {
	m, err := readMetadata(c)
	if isTooLarge(err) {
		return err
	}
	out, err := r.register.Handle(c.Request().Context(), application.RegisterDynamicClientInput{
		InitialToken: presentedToken(c.Request()), Metadata: m.ToApplication(), Unreadable: err,
	})
	if err != nil {
		return failedAt(registrationEndpoint, false, err)
	}
	return r.answer(c, http.StatusCreated, out)
}

// manageClient is GET, PUT and DELETE {base}/oauth2/register/{client_id}
// (RFC 7592 §2.1-2.3), with the registration access token as bearer.
func (r registrationAPI) manageClient(c echo.Context) error {
	in := application.ManageRegistrationInput{ClientID: c.Param("client_id"), Token: presentedToken(c.Request())}
	switch c.Request().Method {
	case http.MethodPut:
		m, err := readMetadata(c)
		if isTooLarge(err) {
			return err
		}
		in.Action, in.Metadata, in.BodyClientID, in.Unreadable = application.ReplaceRegistration, m.ToApplication(), m.ClientID, err
	case http.MethodDelete:
		in.Action = application.DeleteRegistration
	default:
		in.Action = application.ReadRegistration
	}
	out, err := r.manage.Handle(c.Request().Context(), in)
	if err != nil {
		return failedAt(registrationEndpoint, false, err)
	}
	if in.Action == application.DeleteRegistration {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return c.NoContent(http.StatusNoContent)
	}
	return r.answer(c, http.StatusOK, out)
}

// answer writes the client information response: never cached, as it
// may carry the secret and the registration access token (§3.2.1).
func (r registrationAPI) answer(c echo.Context, status int, out application.RegisteredClient) error {
	w := registrationwire.FromApplication(out.Metadata)
	w.ClientID = out.ClientID
	w.ClientIDIssuedAt = out.IssuedAt.Unix()
	w.RegistrationClientURI = r.endpoint + "/" + out.ClientID
	w.RegistrationAccessToken = out.RegistrationToken
	if out.ClientSecret != "" {
		w.ClientSecret = out.ClientSecret
		var exp int64 // 0: it does not expire (§3.2.1)
		if !out.SecretExpiresAt.IsZero() {
			exp = out.SecretExpiresAt.Unix()
		}
		w.ClientSecretExpiresAt = &exp
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	c.Response().Header().Set("Pragma", "no-cache")
	return writeJSON(c, status, w)
}
