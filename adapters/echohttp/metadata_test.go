package echohttp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/adapters/echohttp"
)

// wantMetadata is the metadata document of the test issuer: every scope a
// client may have, the algorithm of the active key, and the same methods
// and assertion algorithms at each endpoint that authenticates clients.
var wantMetadata = fmt.Sprintf(`{
	"issuer": %[1]q,
	"token_endpoint": "%[1]s/oauth2/token",
	"jwks_uri": "%[1]s/oauth2/jwks",
	"scopes_supported": ["country.read", "customer.read", "customer.write"],
	"response_types_supported": [],
	"grant_types_supported": ["client_credentials"],
	"token_endpoint_auth_methods_supported": %[2]s,
	"token_endpoint_auth_signing_alg_values_supported": %[3]s,
	"revocation_endpoint": "%[1]s/oauth2/revoke",
	"revocation_endpoint_auth_methods_supported": %[2]s,
	"revocation_endpoint_auth_signing_alg_values_supported": %[3]s,
	"introspection_endpoint": "%[1]s/oauth2/introspect",
	"introspection_endpoint_auth_methods_supported": %[2]s,
	"introspection_endpoint_auth_signing_alg_values_supported": %[3]s,
	"introspection_signing_alg_values_supported": ["RS256"]
}`, issuer,
	`["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"]`,
	`["RS256", "ES256", "HS256"]`)

func TestMetadata(t *testing.T) {
	e := newEnv(t)
	for name, path := range map[string]string{
		"well-known before the issuer's path (RFC 8414 §3.1)": metadataRootPath,
		"well-known appended to the issuer":                   metadataBasePath,
	} {
		t.Run(name, func(t *testing.T) {
			rec := e.toAuth(get(path))
			check(t, rec, want{status: http.StatusOK, header: map[string]string{"Cache-Control": "public, max-age=300"}})
			equalJSON(t, rec.Body.Bytes(), wantMetadata)
		})
	}
	if metadataRootPath != "/.well-known/oauth-authorization-server/ms-auth-server" {
		t.Errorf("RFC 8414 §3.1 location = %s", metadataRootPath)
	}
}

func TestMetadataMembers(t *testing.T) {
	tests := []struct {
		name  string
		tweak func(*deps)
		// present and absent list top-level members.
		present []string
		absent  []string
	}{
		{
			name: "secret methods only: no signing algorithms",
			tweak: func(d *deps) {
				d.metadata.AuthMethods = []string{"client_secret_basic", "client_secret_post"}
			},
			present: []string{"token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported"},
			absent: []string{
				"token_endpoint_auth_signing_alg_values_supported",
				"introspection_endpoint_auth_signing_alg_values_supported",
				"revocation_endpoint_auth_signing_alg_values_supported",
			},
		},
		{
			name: "one assertion method brings the signing algorithms",
			tweak: func(d *deps) {
				d.metadata.AuthMethods = []string{"client_secret_basic", "private_key_jwt"}
			},
			present: []string{"token_endpoint_auth_signing_alg_values_supported", "revocation_endpoint_auth_signing_alg_values_supported"},
		},
		{
			name: "no revocation endpoint: no revocation members",
			tweak: func(d *deps) {
				d.metadata.RevocationEndpoint = ""
			},
			present: []string{"introspection_endpoint"},
			absent: []string{
				"revocation_endpoint", "revocation_endpoint_auth_methods_supported",
				"revocation_endpoint_auth_signing_alg_values_supported",
			},
		},
		{
			name: "no introspection endpoint: no introspection members",
			tweak: func(d *deps) {
				d.metadata.IntrospectionEndpoint = ""
			},
			present: []string{"revocation_endpoint"},
			absent: []string{
				"introspection_endpoint", "introspection_endpoint_auth_methods_supported",
				"introspection_endpoint_auth_signing_alg_values_supported",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newEnv(t, tt.tweak).toAuth(get(metadataRootPath))
			check(t, rec, want{status: http.StatusOK})
			body := jsonObject(t, rec)
			for _, m := range tt.present {
				if _, ok := body[m]; !ok {
					t.Errorf("%s missing from %s", m, rec.Body)
				}
			}
			for _, m := range tt.absent {
				if _, ok := body[m]; ok {
					t.Errorf("%s present in %s", m, rec.Body)
				}
			}
			// Required by RFC 8414 §2 whatever else changes.
			if rt, ok := body["response_types_supported"].([]any); !ok || len(rt) != 0 {
				t.Errorf("response_types_supported = %v, want []", body["response_types_supported"])
			}
		})
	}
}

// TestMetadataEndpointsAreServed follows every endpoint the metadata
// advertises, with the method it is used with, and checks that a route
// answers: the exported paths and the routes agree.
func TestMetadataEndpointsAreServed(t *testing.T) {
	e := newEnv(t)
	body := jsonObject(t, e.toAuth(get(metadataRootPath)))
	endpoints := map[string]string{
		"token_endpoint":         http.MethodPost,
		"introspection_endpoint": http.MethodPost,
		"revocation_endpoint":    http.MethodPost,
		"jwks_uri":               http.MethodGet,
	}
	for member, method := range endpoints {
		t.Run(member, func(t *testing.T) {
			raw, _ := body[member].(string)
			u, err := url.Parse(raw)
			if err != nil || !strings.HasPrefix(raw, issuer+"/") {
				t.Fatalf("%s = %q, want a URL under the issuer", member, raw)
			}
			req := get(u.Path)
			if method == http.MethodPost {
				req = post(u.Path, "")
			}
			rec := e.toAuth(req)
			if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d", method, u.Path, rec.Code)
			}
		})
	}
}

// TestMetadataWithoutBasePath checks an issuer at the root: one location.
func TestMetadataWithoutBasePath(t *testing.T) {
	const rootIssuer = "http://localhost:8085"
	e := newEnv(t, func(d *deps) {
		d.authBase = ""
		d.metadata = testMetadata(rootIssuer)
	})
	rec := e.toAuth(get(echohttp.MetadataPath))
	check(t, rec, want{status: http.StatusOK})
	if got := jsonObject(t, rec)["token_endpoint"]; got != rootIssuer+"/oauth2/token" {
		t.Errorf("token_endpoint = %v", got)
	}
	check(t, e.toAuth(post(echohttp.TokenPath, "")), want{status: http.StatusBadRequest, code: "invalid_request"})
}

func TestMetadataMethods(t *testing.T) {
	e := newEnv(t)
	rec := e.toAuth(post(metadataRootPath, ""))
	check(t, rec, want{status: http.StatusMethodNotAllowed, code: "method_not_allowed"})
	if allow := rec.Header().Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("Allow = %q, want GET", allow)
	}
}
