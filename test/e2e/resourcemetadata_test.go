package e2e_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/bootstrap"
)

// resourceMetadataParam finds resource_metadata in a Bearer challenge.
var resourceMetadataParam = regexp.MustCompile(`^Bearer (?:.*, )?resource_metadata="([^"]+)"`)

// TestResourceDiscovery is a client that knows nothing but the resource's
// URL: the 401 names the resource's metadata (RFC 9728 §5.1), which names
// the authorization server (§2), whose metadata (RFC 8414 §3.1) names the
// token endpoint; the token it gets there, for the scopes the resource
// said it needs, opens the resource.
func TestResourceDiscovery(t *testing.T) {
	n := startNode(t, nil)
	country := n.ResourceURL + "/country/code/AUS"

	r := get(t, country, "")
	m := resourceMetadataParam.FindStringSubmatch(r.Header.Get("WWW-Authenticate"))
	if r.Status != http.StatusUnauthorized || m == nil {
		t.Fatalf("no token: %d %q, want 401 with resource_metadata", r.Status, r.Header.Get("WWW-Authenticate"))
	}

	r = get(t, m[1], "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", m[1], r.Status, r.Body)
	}
	rm := r.JSON(t)
	// §3.3: the resource must be the one whose metadata was asked for.
	resource, _ := rm["resource"].(string)
	if want := strings.Replace(m[1], "/.well-known/oauth-protected-resource", "", 1); resource != want {
		t.Fatalf("resource = %q, want %q", resource, want)
	}
	servers, _ := rm["authorization_servers"].([]any)
	scopes, _ := rm["scopes_supported"].([]any)
	if len(servers) != 1 || len(scopes) == 0 || !slices.Equal(rm["bearer_methods_supported"].([]any), []any{"header"}) {
		t.Fatalf("resource metadata %s", r.Body)
	}
	issuer := servers[0].(string)

	// RFC 8414 §3.1: the well-known segment between host and path.
	iu, err := url.Parse(issuer)
	if err != nil {
		t.Fatal(err)
	}
	r = get(t, iu.Scheme+"://"+iu.Host+"/.well-known/oauth-authorization-server"+iu.Path, "")
	if r.Status != http.StatusOK || r.JSON(t)["issuer"] != issuer {
		t.Fatalf("authorization server metadata: %d %s", r.Status, r.Body)
	}
	tokenEndpoint := r.JSON(t)["token_endpoint"].(string)

	var need []string
	for _, s := range scopes {
		need = append(need, s.(string))
	}
	r = postForm(t, tokenEndpoint, url.Values{
		"grant_type": {"client_credentials"},
		"scope":      {strings.Join(need, " ")},
	}, []string{"user-client-opaque", "user-client-secret"})
	if r.Status != http.StatusOK {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	wantCountryAUS(t, get(t, country, r.JSON(t)["access_token"].(string)))
}

// TestResourceMetadataIdentifier: a configured identifier is what the
// metadata says and where the challenge points, and tokens must then be
// addressed to it (RFC 8707).
func TestResourceMetadataIdentifier(t *testing.T) {
	const id = "https://api.example.com/countries"
	n := startNode(t, func(c *bootstrap.Config) { c.ResourceIdentifier = id })
	r := get(t, n.ResourceURL+"/country", "")
	if want := `Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/countries"`; r.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("challenge %q, want %q", r.Header.Get("WWW-Authenticate"), want)
	}
	base := strings.TrimSuffix(n.ResourceURL, "/ms-system")
	r = get(t, base+"/.well-known/oauth-protected-resource/countries", "")
	if r.Status != http.StatusOK || r.JSON(t)["resource"] != id {
		t.Fatalf("metadata: %d %s", r.Status, r.Body)
	}
}
