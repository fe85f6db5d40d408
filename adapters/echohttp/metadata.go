package echohttp

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// metadataMaxAge is how long clients and proxies may keep the metadata.
// What changes in it at run time is scopes_supported (when a client is
// registered) and introspection_signing_alg_values_supported (when the
// active key's algorithm changes); five minutes of staleness on either
// harms no one, and it matches the JWKS document's usual lifetime, so a
// client that refreshes both does so together.
const metadataMaxAge = 300

// metadataJSON is the metadata document (RFC 8414 §2), members in the
// order the RFC lists them. Every array but response_types_supported is
// omitted when empty, as §3.2 requires of claims with zero elements.
type metadataJSON struct {
	Issuer        string   `json:"issuer"`
	TokenEndpoint string   `json:"token_endpoint,omitempty"`
	JWKSURI       string   `json:"jwks_uri,omitempty"`
	Scopes        []string `json:"scopes_supported,omitempty"`
	// ResponseTypes is always present and empty. §2 makes the member
	// REQUIRED, but response types are values of the authorization
	// endpoint, which Sigil does not have (client_credentials only): the
	// one honest value is the empty list. §3.2 would omit an empty array;
	// erratum 7793 to RFC 8414 reports exactly this clash. Sending []
	// satisfies clients that insist on the member without claiming a
	// response type.
	ResponseTypes        []string `json:"response_types_supported"`
	GrantTypes           []string `json:"grant_types_supported,omitempty"`
	TokenAuthMethods     []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	TokenAuthSigningAlgs []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`

	RevocationEndpoint        string   `json:"revocation_endpoint,omitempty"`
	RevocationAuthMethods     []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	RevocationAuthSigningAlgs []string `json:"revocation_endpoint_auth_signing_alg_values_supported,omitempty"`

	IntrospectionEndpoint        string   `json:"introspection_endpoint,omitempty"`
	IntrospectionAuthMethods     []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	IntrospectionAuthSigningAlgs []string `json:"introspection_endpoint_auth_signing_alg_values_supported,omitempty"`
	// IntrospectionSigningAlgs are RFC 9701 §7's.
	IntrospectionSigningAlgs []string `json:"introspection_signing_alg_values_supported,omitempty"`
	// DPoPSigningAlgs are RFC 9449 §5.1's.
	DPoPSigningAlgs []string `json:"dpop_signing_alg_values_supported,omitempty"`
	// CertBoundTokens is RFC 8705 §3.3's
	// tls_client_certificate_bound_access_tokens.
	CertBoundTokens bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	// RegistrationEndpoint is RFC 7591 §3's (RFC 8414 §2), when on.
	RegistrationEndpoint string `json:"registration_endpoint,omitempty"`
}

// toMetadataJSON lays the metadata out as RFC 8414 §2 names it. The same
// client authentication guards the token, revocation and introspection
// endpoints, so each lists the same methods; the *_auth_signing_alg_values
// members are sent only beside a method that signs (client_secret_jwt,
// private_key_jwt), as §2 requires them then and gives them no meaning
// otherwise.
func toMetadataJSON(m application.ServerMetadata) metadataJSON {
	var signingAlgs []string
	if slices.Contains(m.AuthMethods, string(domain.AuthClientSecretJWT)) ||
		slices.Contains(m.AuthMethods, string(domain.AuthPrivateKeyJWT)) {
		signingAlgs = m.AuthSigningAlgs
	}
	out := metadataJSON{
		Issuer:                   m.Issuer,
		TokenEndpoint:            m.TokenEndpoint,
		JWKSURI:                  m.JWKSURI,
		Scopes:                   m.Scopes,
		ResponseTypes:            []string{},
		GrantTypes:               m.GrantTypes,
		TokenAuthMethods:         m.AuthMethods,
		TokenAuthSigningAlgs:     signingAlgs,
		IntrospectionSigningAlgs: m.IntrospectionSigningAlgs,
		DPoPSigningAlgs:          m.DPoPSigningAlgs,
		CertBoundTokens:          m.CertBoundTokens,
		RegistrationEndpoint:     m.RegistrationEndpoint,
	}
	if m.RevocationEndpoint != "" {
		out.RevocationEndpoint = m.RevocationEndpoint
		out.RevocationAuthMethods = m.AuthMethods
		out.RevocationAuthSigningAlgs = signingAlgs
	}
	if m.IntrospectionEndpoint != "" {
		out.IntrospectionEndpoint = m.IntrospectionEndpoint
		out.IntrospectionAuthMethods = m.AuthMethods
		out.IntrospectionAuthSigningAlgs = signingAlgs
	}
	return out
}

// serverMetadata publishes the authorization server's metadata (RFC 8414
// §3.2): 200 with application/json.
func (a authAPI) serverMetadata(c echo.Context) error {
	m, err := a.metadata.Handle(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age="+strconv.Itoa(metadataMaxAge))
	return writeJSON(c, http.StatusOK, toMetadataJSON(m))
}
