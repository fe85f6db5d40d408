package echohttp_test

import (
	"net/http"
	"testing"

	"github.com/sigilauth/sigil/adapters/echohttp"
)

const (
	testResource         = "http://localhost:8091/ms-system"
	testResourceMetadata = "http://localhost:8091/.well-known/oauth-protected-resource/ms-system"
)

func withResourceMetadata(resource string) func(d *deps) {
	return func(d *deps) {
		d.resourceMetadata = &echohttp.ResourceMetadata{Resource: resource, AuthorizationServers: []string{issuer}}
	}
}

// TestResourceMetadataDocument: RFC 9728 §3 at the path form of the
// identifier (§3.1) and at the bare well-known path, with what the routes
// need and the DPoP algorithms the resource accepts.
func TestResourceMetadataDocument(t *testing.T) {
	e := newEnv(t, withResourceMetadata(testResource), dpopOn)
	for _, path := range []string{"/.well-known/oauth-protected-resource/ms-system", "/.well-known/oauth-protected-resource"} {
		rec := e.toResource(get(path))
		check(t, rec, want{status: http.StatusOK, header: map[string]string{"Cache-Control": "public, max-age=300"}})
		equalJSON(t, rec.Body.Bytes(), `{
			"resource": "`+testResource+`",
			"authorization_servers": ["`+issuer+`"],
			"scopes_supported": ["country.read"],
			"bearer_methods_supported": ["header"],
			"dpop_signing_alg_values_supported": ["ES256", "EdDSA"],
			"dpop_bound_access_tokens_required": false
		}`)
	}
}

// TestResourceMetadataBehindProxy: an identifier with another path than
// the base path (a proxy maps it) is published at its own path form too,
// and the challenge names that one.
func TestResourceMetadataBehindProxy(t *testing.T) {
	e := newEnv(t, withResourceMetadata("https://api.example.com/countries"))
	for _, path := range []string{"/.well-known/oauth-protected-resource/countries", "/.well-known/oauth-protected-resource/ms-system"} {
		if rec := e.toResource(get(path)); rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d", path, rec.Code)
		}
	}
	rec := e.toResource(get(countryPath))
	check(t, rec, want{status: http.StatusUnauthorized, header: map[string]string{
		"WWW-Authenticate": `Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/countries"`,
	}})
}

// TestResourceMetadataChallenges: every Bearer challenge names the
// metadata (RFC 9728 §5.1) after its own parameters, "Bearer" first.
func TestResourceMetadataChallenges(t *testing.T) {
	e := newEnv(t, withResourceMetadata(testResource))
	noCountryScope := e.issue(jwtClient, jwtSecret, "customer.read customer.write")
	rm := `resource_metadata="` + testResourceMetadata + `"`
	tests := []struct {
		name   string
		auth   string
		status int
		want   string
	}{
		{"no token", "", http.StatusUnauthorized, "Bearer " + rm},
		{"empty token", "Bearer", http.StatusBadRequest, `Bearer error="invalid_request", error_description="the bearer token is empty", ` + rm},
		{"unknown token", bearer("unknown"), http.StatusUnauthorized, `Bearer error="invalid_token", error_description="token is not active", ` + rm},
		{"no scope", bearer(noCountryScope), http.StatusForbidden, `Bearer error="insufficient_scope", scope="country.read", ` + rm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := get(countryPath + "/code/AUS")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := e.toResource(req)
			if got := rec.Header().Values("WWW-Authenticate"); rec.Code != tt.status || len(got) != 1 || got[0] != tt.want {
				t.Errorf("%d %q, want %d %q", rec.Code, got, tt.status, tt.want)
			}
		})
	}
}

// TestResourceMetadataWithDPoP: a DPoP request's own challenge comes
// first, unchanged, and the Bearer one after it carries the metadata.
func TestResourceMetadataWithDPoP(t *testing.T) {
	e := newEnv(t, withResourceMetadata(testResource), dpopOn)
	req := get(countryPath)
	req.Header.Set("Authorization", "DPoP unknown")
	rec := e.toResource(req)
	got := rec.Header().Values("WWW-Authenticate")
	if rec.Code != http.StatusUnauthorized || len(got) != 2 || got[1] != `Bearer resource_metadata="`+testResourceMetadata+`"` {
		t.Errorf("%d %q", rec.Code, got)
	}
}
