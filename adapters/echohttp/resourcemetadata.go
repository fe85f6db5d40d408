package echohttp

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// ResourceMetadataPath is the well-known suffix of RFC 9728 §3. For a
// resource identifier with a path it goes between host and path (§3.1):
// http://localhost:8091/ms-system publishes at
// http://localhost:8091/.well-known/oauth-protected-resource/ms-system.
const ResourceMetadataPath = "/.well-known/oauth-protected-resource"

// ResourceMetadata is what the resource server says of itself beyond what
// its routes tell (RFC 9728 §2): its identifier and the authorization
// servers whose tokens it accepts.
type ResourceMetadata struct {
	// Resource is the resource identifier, an absolute http(s) URL
	// without query or fragment.
	Resource             string
	AuthorizationServers []string
}

// resourceMetadataJSON is the RFC 9728 §2 document, members in the order
// the RFC lists them. resource_signing_alg_values_supported is absent on
// purpose: it names the algorithms of signed resource responses, and
// Sigil's resource server signs none.
type resourceMetadataJSON struct {
	Resource             string   `json:"resource"`
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	Scopes               []string `json:"scopes_supported,omitempty"`
	BearerMethods        []string `json:"bearer_methods_supported"`
	DPoPSigningAlgs      []string `json:"dpop_signing_alg_values_supported,omitempty"`
	// DPoPBoundRequired is false: the resource takes Bearer tokens too.
	DPoPBoundRequired bool `json:"dpop_bound_access_tokens_required"`
}

// resourceMetadataURL is where the metadata of resource is published
// (RFC 9728 §3.1), and the path that URL has on this server.
func resourceMetadataURL(resource string) (string, string, error) {
	u, err := url.Parse(resource)
	if err != nil {
		return "", "", err
	}
	path := ResourceMetadataPath + strings.TrimRight(u.Path, "/")
	return u.Scheme + "://" + u.Host + path, path, nil
}

// resourceScopes are the scopes the routes need, each once, sorted.
func resourceScopes() []string {
	var out []string
	for _, r := range resourceRoutes {
		for _, s := range r.scopes {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// serveResourceMetadata adds the metadata routes to e: the path form of
// m.Resource, the base path's form when the identifier names another path
// (a proxy in front), and the bare well-known path. It returns the
// metadata URL for the challenges (RFC 9728 §5.1).
func serveResourceMetadata(e *echo.Echo, base string, m ResourceMetadata, dpopAlgs []string) (string, error) {
	metadataURL, path, err := resourceMetadataURL(m.Resource)
	if err != nil {
		return "", err
	}
	body := mustJSON(resourceMetadataJSON{
		Resource:             m.Resource,
		AuthorizationServers: m.AuthorizationServers,
		Scopes:               resourceScopes(),
		BearerMethods:        []string{"header"}, // RFC 6750 §2.1 only: see bearerToken
		DPoPSigningAlgs:      dpopAlgs,
	})
	serve := func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age="+strconv.Itoa(metadataMaxAge))
		return c.JSONBlob(http.StatusOK, body)
	}
	paths := []string{path}
	for _, p := range []string{ResourceMetadataPath + base, ResourceMetadataPath} {
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	for _, p := range paths {
		e.GET(p, serve)
	}
	return metadataURL, nil
}
