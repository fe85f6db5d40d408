package e2e_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/test/testenv"
)

// sharedStorage runs a node over PostgreSQL and Redis, the production
// storage, with the demo clients on.
func sharedStorage(t *testing.T) func(c *bootstrap.Config) {
	dsn := testenv.PostgresDSN(t)
	_, prefix := testenv.Redis(t)
	return func(c *bootstrap.Config) {
		c.DatabaseDriver = "postgres"
		c.DatabaseDSN = dsn
		c.RedisAddr = testenv.RedisAddr()
		c.RedisPrefix = prefix
		c.DemoClients = "true"
		c.KeyEncryptionKey = testKEK
	}
}

// testKEK is a key-encryption key for nodes on PostgreSQL, which has no
// key file beside it.
const testKEK = "c2lnaWwtdGVzdC1rZXktZW5jcnlwdGlvbi1rZXkhISE="

var (
	jwtClient    = []string{"service-client-jwt", "service-client-jwt-secret"}
	opaqueClient = []string{"user-client-opaque", "user-client-secret"}
)

// wantOAuthError checks an error answer: status, error code, a
// description, JSON, no-store, and nothing that looks like internals.
func wantOAuthError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	body := r.JSON(t)
	if body["error"] != code {
		t.Fatalf("error %v, want %s: %s", body["error"], code, r.Body)
	}
	if d, _ := body["error_description"].(string); d == "" {
		t.Errorf("no error_description: %s", r.Body)
	}
	for _, leak := range []string{"goroutine", ".go:", "panic", "sql", "redis"} {
		if strings.Contains(strings.ToLower(string(r.Body)), leak) {
			t.Errorf("error body reveals internals (%q): %s", leak, r.Body)
		}
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and Redis")
	}
	n := startNode(t, sharedStorage(t))
	tokenURL := n.AuthURL + "/oauth2/token"
	cc := url.Values{"grant_type": {"client_credentials"}}
	post := func(id, secret string, extra url.Values) url.Values {
		f := url.Values{"client_id": {id}, "client_secret": {secret}}
		for k, v := range extra {
			f[k] = v
		}
		return f
	}

	cases := []struct {
		name   string
		form   url.Values
		basic  []string
		status int
		code   string
	}{
		{"wrong secret in the body", post("service-client-jwt", "nope", cc), nil, 401, "invalid_client"},
		{"unknown client", post("nobody", "nope", cc), nil, 401, "invalid_client"},
		{"no credentials", cc, nil, 401, "invalid_client"},
		{"missing grant_type", post(jwtClient[0], jwtClient[1], nil), nil, 400, "invalid_request"},
		{"unsupported grant", post(jwtClient[0], jwtClient[1], url.Values{"grant_type": {"password"}}), nil, 400, "unsupported_grant_type"},
		{"scope the client may not have", url.Values{"grant_type": {"client_credentials"}, "scope": {"customer.read"}}, opaqueClient, 400, "invalid_scope"},
		{"scope with a forbidden character", url.Values{"grant_type": {"client_credentials"}, "scope": {`country"read`}}, jwtClient, 400, "invalid_scope"},
		{"parameter repeated", url.Values{"grant_type": {"client_credentials", "client_credentials"}}, jwtClient, 400, "invalid_request"},
		{"two authentication methods", post(jwtClient[0], jwtClient[1], cc), jwtClient, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := postForm(t, tokenURL, tc.form, tc.basic)
			wantOAuthError(t, r, tc.status, tc.code)
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", r.Header.Get("Cache-Control"))
			}
		})
	}

	t.Run("wrong secret with Basic asks for Basic", func(t *testing.T) {
		r := postForm(t, tokenURL, cc, []string{"service-client-jwt", "nope"})
		wantOAuthError(t, r, 401, "invalid_client")
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("WWW-Authenticate = %q, want a Basic challenge", r.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("wrong content type", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(`{"grant_type":"client_credentials"}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(jwtClient[0], jwtClient[1])
		wantOAuthError(t, do(t, req), 400, "invalid_request")
	})
	t.Run("body over the limit", func(t *testing.T) {
		big := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Repeat("a", int(n.Config.MaxBodyBytes))}}
		wantOAuthError(t, postForm(t, tokenURL, big, jwtClient), http.StatusRequestEntityTooLarge, "invalid_request")
	})
	// After all of that the server still serves.
	n.token(t, jwtClient[0], jwtClient[1], "")
}

func TestIntrospectionAndResourceErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and Redis")
	}
	n := startNode(t, sharedStorage(t))
	introspect := func(who []string, token string) response {
		return postForm(t, n.AuthURL+"/oauth2/introspect", url.Values{"token": {token}}, who)
	}
	jwt := n.token(t, jwtClient[0], jwtClient[1], "country.read customer.read")
	opaque := n.token(t, opaqueClient[0], opaqueClient[1], "")
	narrow := n.token(t, jwtClient[0], jwtClient[1], "customer.read")
	tampered := jwt[:len(jwt)-4] + flip(jwt[len(jwt)-4:])

	t.Run("introspection of a JWT", func(t *testing.T) {
		body := introspect(jwtClient, jwt).JSON(t)
		if body["active"] != true || body["scope"] != "country.read customer.read" || body["client_id"] != "service-client-jwt" {
			t.Fatalf("got %v", body)
		}
	})
	for name, token := range map[string]string{
		"unknown opaque": "x" + opaque[1:], "malformed JWT": "a.b.c", "tampered JWT": tampered, "junk": "%%%",
	} {
		t.Run("introspection of "+name+" is inactive", func(t *testing.T) {
			r := introspect(jwtClient, token)
			if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"active":false}` {
				t.Fatalf("got %d %s, want exactly {\"active\":false}", r.Status, r.Body)
			}
		})
	}
	t.Run("a client that may not introspect", func(t *testing.T) {
		wantOAuthError(t, introspect(opaqueClient, opaque), 403, "unauthorized_client")
	})
	t.Run("introspection without credentials", func(t *testing.T) {
		wantOAuthError(t, introspect(nil, opaque), 401, "invalid_client")
	})
	t.Run("introspection without a token", func(t *testing.T) {
		wantOAuthError(t, postForm(t, n.AuthURL+"/oauth2/introspect", url.Values{}, jwtClient), 400, "invalid_request")
	})

	country := n.ResourceURL + "/country/code/"
	bearerCases := []struct {
		name, token, challenge string
		status                 int
	}{
		{"tampered JWT", tampered, `Bearer error="invalid_token"`, 401},
		{"unknown opaque token", "x" + opaque[1:], `Bearer error="invalid_token"`, 401},
		{"JWT from an unknown key", forgedKid(t, jwt), `Bearer error="invalid_token"`, 401},
		{"JWT without country.read", narrow, `Bearer error="insufficient_scope"`, 403},
	}
	for _, tc := range bearerCases {
		t.Run("resource refuses "+tc.name, func(t *testing.T) {
			r := get(t, country+"AUS", tc.token)
			if r.Status != tc.status || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), tc.challenge) {
				t.Fatalf("got %d %q, want %d %s...", r.Status, r.Header.Get("WWW-Authenticate"), tc.status, tc.challenge)
			}
		})
	}
	t.Run("insufficient scope names the scope", func(t *testing.T) {
		r := get(t, country+"AUS", narrow)
		if !strings.Contains(r.Header.Get("WWW-Authenticate"), `scope="country.read"`) {
			t.Fatalf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
		}
	})

	countryCases := []struct {
		code   string
		status int
		body   string
	}{
		{"aus", 200, `{"code":"AUS","name":"AUSTRALIA"}`},
		{"AU", 200, `{"code":"AUS","name":"AUSTRALIA"}`},
		{"de", 200, `{"code":"DEU","name":"GERMANY"}`},
		{"ZZZ", 404, `"not_found"`},
		{"A1", 400, `"invalid_request"`},
		{"ABCD", 400, `"invalid_request"`},
	}
	for _, tc := range countryCases {
		t.Run("country "+tc.code, func(t *testing.T) {
			for _, token := range []string{jwt, opaque} {
				r := get(t, country+tc.code, token)
				if r.Status != tc.status || !strings.Contains(string(r.Body), tc.body) {
					t.Fatalf("got %d %s, want %d containing %s", r.Status, r.Body, tc.status, tc.body)
				}
			}
		})
	}
	t.Run("country list pages", func(t *testing.T) {
		r := get(t, n.ResourceURL+"/country?page=2&page_size=10", opaque)
		body := r.JSON(t)
		list, _ := body["countries"].([]any)
		if r.Status != 200 || len(list) != 10 || body["page"] != float64(2) || body["total"].(float64) < 240 {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
		if get(t, n.ResourceURL+"/country", "").Status != 401 {
			t.Fatal("the list is not protected")
		}
	})
}

// TestResourceWithAuthServerDown: a resource server whose authorization
// server cannot be reached answers 503, not 401 and not a crash.
func TestResourceWithAuthServerDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	dead := "http://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/ms-auth-server"
	n := startNode(t, func(c *bootstrap.Config) {
		c.Role = bootstrap.RoleResource
		c.ResourceIssuer = dead
	})
	for _, token := range []string{"opaque-token-value", forgedKid(t, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")} {
		r := get(t, n.ResourceURL+"/country/code/AUS", token)
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("got %d %s, want 503", r.Status, r.Body)
		}
	}
}

func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}
