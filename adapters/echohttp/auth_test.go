package echohttp_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// TestSeedJWTFlow replays the seed's client-credentials JWT walkthrough.
func TestSeedJWTFlow(t *testing.T) {
	e := newEnv(t)

	check(t, e.toResource(get(countryPath+"/code/AUS")), want{
		status: http.StatusUnauthorized,
		header: map[string]string{"WWW-Authenticate": "Bearer"},
	})

	rec := e.toAuth(post(tokenPath, form(
		"grant_type", "client_credentials",
		"client_id", jwtClient,
		"client_secret", jwtSecret,
		"scope", seedScope,
	)))
	check(t, rec, want{status: http.StatusOK, header: map[string]string{
		"Cache-Control": "no-store",
		"Pragma":        "no-cache",
	}})
	body := jsonObject(t, rec)
	token, _ := body["access_token"].(string)
	if token == "" || strings.Count(token, ".") != 2 {
		t.Fatalf("access_token = %q, want a JWT", token)
	}
	delete(body, "access_token")
	equalJSON(t, marshal(t, body), fmt.Sprintf(
		`{"scope":%q,"token_type":"Bearer","expires_in":%d}`, seedScope, demoLifetimeS))

	rec = e.toResource(with(get(countryPath+"/code/AUS"), "Authorization", bearer(token)))
	check(t, rec, want{status: http.StatusOK})
	if got := strings.TrimSpace(rec.Body.String()); got != `{"code":"AUS","name":"AUSTRALIA"}` {
		t.Errorf("country body = %s", got)
	}
}

// TestSeedOpaqueFlow replays the seed's opaque-token walkthrough: the
// resource server introspects with service-client-jwt's credentials.
func TestSeedOpaqueFlow(t *testing.T) {
	e := newEnv(t)
	token := e.issue(opaqueClient, opaqueSecret, "country.read")
	if strings.Contains(token, ".") {
		t.Fatalf("access_token = %q, want an opaque token", token)
	}

	rec := e.toAuth(post(introspectPath, form("client_id", jwtClient, "client_secret", jwtSecret, "token", token)))
	check(t, rec, want{status: http.StatusOK, header: map[string]string{"Cache-Control": "no-store"}})
	body := jsonObject(t, rec)
	if jti, _ := body["jti"].(string); len(jti) != 36 {
		t.Errorf("jti = %v, want a UUID", body["jti"])
	}
	delete(body, "jti")
	now, exp := start.Unix(), start.Unix()+demoLifetimeS
	equalJSON(t, marshal(t, body), fmt.Sprintf(`{
		"active": true, "sub": %[1]q, "aud": [%[1]q], "nbf": %[2]d, "scope": "country.read",
		"iss": %[3]q, "exp": %[4]d, "iat": %[2]d, "client_id": %[1]q, "token_type": "Bearer"
	}`, opaqueClient, now, issuer, exp))

	rec = e.toResource(with(get(countryPath+"/code/AUS"), "Authorization", bearer(token)))
	check(t, rec, want{status: http.StatusOK})
	equalJSON(t, rec.Body.Bytes(), `{"code":"AUS","name":"AUSTRALIA"}`)
}

func TestTokenEndpointIssues(t *testing.T) {
	tests := []struct {
		name      string
		req       *http.Request
		wantScope string
	}{
		{
			name:      "client_secret_basic",
			req:       with(post(tokenPath, form("grant_type", "client_credentials", "scope", "country.read")), "Authorization", basic(jwtClient, jwtSecret)),
			wantScope: "country.read",
		},
		{
			name: "basic with the same client_id in the body",
			req: with(post(tokenPath, form("grant_type", "client_credentials", "client_id", jwtClient)),
				"Authorization", basic(jwtClient, jwtSecret)),
			wantScope: seedScope, // the default scopes
		},
		{
			name:      "basic id and secret are form-urlencoded",
			req:       with(post(tokenPath, form("grant_type", "client_credentials")), "Authorization", basic(oddClient, oddSecret)),
			wantScope: "",
		},
		{
			name:      "lower-case scheme",
			req:       with(post(tokenPath, form("grant_type", "client_credentials")), "Authorization", "basic"+strings.TrimPrefix(basic(opaqueClient, opaqueSecret), "Basic")),
			wantScope: "country.read",
		},
		{
			name: "content type with charset",
			req: with(post(tokenPath, form("grant_type", "client_credentials", "client_id", opaqueClient, "client_secret", opaqueSecret)),
				"Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"),
			wantScope: "country.read",
		},
		{
			name:      "empty scope is no scope",
			req:       post(tokenPath, form("grant_type", "client_credentials", "client_id", opaqueClient, "client_secret", opaqueSecret, "scope", "")),
			wantScope: "country.read",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newEnv(t).toAuth(tt.req)
			check(t, rec, want{status: http.StatusOK, header: map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"}})
			body := jsonObject(t, rec)
			if body["token_type"] != "Bearer" || body["access_token"] == "" {
				t.Errorf("body = %v", body)
			}
			if got, _ := body["scope"].(string); got != tt.wantScope {
				t.Errorf("scope = %q, want %q", got, tt.wantScope)
			}
		})
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	good := func(extra ...string) string {
		return form(append([]string{"grant_type", "client_credentials", "client_id", jwtClient, "client_secret", jwtSecret}, extra...)...)
	}
	noStore := func(h map[string]string) map[string]string {
		h["Cache-Control"] = "no-store"
		return h
	}
	unauthorized := func(challenge string) want {
		return want{status: http.StatusUnauthorized, code: "invalid_client", header: noStore(map[string]string{"WWW-Authenticate": challenge})}
	}
	badRequest := func(code string) want {
		return want{status: http.StatusBadRequest, code: code, header: noStore(map[string]string{"WWW-Authenticate": ""})}
	}
	basicChallenge := `Basic realm="sigil"`

	tests := []struct {
		name string
		req  *http.Request
		want want
	}{
		{"wrong secret, post", post(tokenPath, form("grant_type", "client_credentials", "client_id", jwtClient, "client_secret", "nope")), unauthorized("")},
		{"wrong secret, basic", with(post(tokenPath, form("grant_type", "client_credentials")), "Authorization", basic(jwtClient, "nope")), unauthorized(basicChallenge)},
		{"unknown client", post(tokenPath, form("grant_type", "client_credentials", "client_id", "who", "client_secret", "x")), unauthorized("")},
		{"no client authentication", post(tokenPath, form("grant_type", "client_credentials")), unauthorized("")},
		{"malformed basic: not base64", with(post(tokenPath, form("grant_type", "client_credentials")), "Authorization", "Basic !!!"), unauthorized(basicChallenge)},
		{"malformed basic: no colon", with(post(tokenPath, form("grant_type", "client_credentials")), "Authorization", "Basic c2VydmljZQ=="), unauthorized(basicChallenge)},
		{"malformed basic: bad escape", with(post(tokenPath, form("grant_type", "client_credentials")), "Authorization", "Basic JXp6Ong="), unauthorized(basicChallenge)},
		{"other authorization scheme", with(post(tokenPath, form("grant_type", "client_credentials")), "Authorization", "Bearer abc"), unauthorized(basicChallenge)},
		{"unknown grant type", post(tokenPath, form("grant_type", "password", "client_id", jwtClient, "client_secret", jwtSecret)), badRequest("unsupported_grant_type")},
		{"missing grant_type", post(tokenPath, form("client_id", jwtClient, "client_secret", jwtSecret)), badRequest("invalid_request")},
		{"invalid scope", post(tokenPath, good("scope", "admin")), badRequest("invalid_scope")},
		{"client may not use the grant", post(tokenPath, form("grant_type", "client_credentials", "client_id", noGrantClient, "client_secret", noGrantSecret)), badRequest("unauthorized_client")},
		{"repeated parameter", post(tokenPath, good("scope", "country.read", "scope", "customer.read")), badRequest("invalid_request")},
		{"repeated empty parameter", post(tokenPath, good("scope", "", "scope", "")), badRequest("invalid_request")},
		{"json content type", with(post(tokenPath, good()), "Content-Type", "application/json"), badRequest("invalid_request")},
		{"multipart content type", with(post(tokenPath, good()), "Content-Type", "multipart/form-data; boundary=x"), badRequest("invalid_request")},
		{"no content type", with(post(tokenPath, good()), "Content-Type", ""), badRequest("invalid_request")},
		{"malformed form", post(tokenPath, good()+"&scope=%zz"), badRequest("invalid_request")},
		{"basic and client_secret in body", with(post(tokenPath, good()), "Authorization", basic(jwtClient, jwtSecret)), badRequest("invalid_request")},
		{"basic and another client_id in body", with(post(tokenPath, form("grant_type", "client_credentials", "client_id", opaqueClient)), "Authorization", basic(jwtClient, jwtSecret)), badRequest("invalid_request")},
		{"GET", get(tokenPath), want{status: http.StatusMethodNotAllowed, code: "method_not_allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newEnv(t).toAuth(tt.req)
			check(t, rec, tt.want)
			if tt.want.status != http.StatusMethodNotAllowed {
				if d, _ := jsonObject(t, rec)["error_description"].(string); d == "" {
					t.Errorf("no error_description in %s", rec.Body)
				}
			}
		})
	}
}

func TestOversizedBody(t *testing.T) {
	padded := func(n int) string {
		return form("grant_type", "client_credentials", "client_id", jwtClient, "client_secret", jwtSecret, "pad", strings.Repeat("x", n))
	}
	chunked := func(req *http.Request) *http.Request {
		req.ContentLength = -1 // as with Transfer-Encoding: chunked: only reading finds out
		return req
	}
	// unread declares a length over the limit with a body that must not be
	// read: a declared excess is refused up front.
	unread := func(path string) *http.Request {
		req := post(path, "")
		req.Body = io.NopCloser(iotest.ErrReader(errors.New("body was read")))
		req.ContentLength = defaultMaxBody + 1
		return req
	}
	tests := []struct {
		name    string
		maxBody int64
		req     *http.Request
		want    int
	}{
		{"default limit, declared length", 0, post(tokenPath, padded(defaultMaxBody)), http.StatusRequestEntityTooLarge},
		{"default limit, undeclared length", 0, chunked(post(tokenPath, padded(defaultMaxBody))), http.StatusRequestEntityTooLarge},
		{"default limit, just under", 0, post(tokenPath, padded(defaultMaxBody-200)), http.StatusOK},
		{"declared length over the limit, body unread", 0, unread(tokenPath), http.StatusRequestEntityTooLarge},
		{"configured limit", 256, post(introspectPath, padded(300)), http.StatusRequestEntityTooLarge},
		{"configured limit, undeclared length", 256, chunked(post(introspectPath, padded(300))), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(d *deps) { d.maxBody = tt.maxBody })
			rec := e.toAuth(tt.req)
			if tt.want == http.StatusOK {
				check(t, rec, want{status: http.StatusOK})
				return
			}
			check(t, rec, want{status: tt.want, header: map[string]string{"Cache-Control": "no-store"}})
			equalJSON(t, rec.Body.Bytes(), `{"error":"invalid_request","error_description":"request body too large"}`)
		})
	}
}

func TestIntrospection(t *testing.T) {
	e := newEnv(t)
	opaque := e.issue(opaqueClient, opaqueSecret, "country.read")
	jwt := e.issue(jwtClient, jwtSecret, "customer.read")
	noStore := map[string]string{"Cache-Control": "no-store"}
	as := func(pairs ...string) string {
		return form(append([]string{"client_id", jwtClient, "client_secret", jwtSecret}, pairs...)...)
	}

	tests := []struct {
		name       string
		req        *http.Request
		want       want
		wantActive string // "true", "false" or "" for an error
	}{
		{"opaque token", post(introspectPath, as("token", opaque)), want{status: http.StatusOK, header: noStore}, "true"},
		{"jwt with hint, caller uses basic", with(post(introspectPath, form("token", jwt, "token_type_hint", "access_token")), "Authorization", basic(jwtClient, jwtSecret)), want{status: http.StatusOK, header: noStore}, "true"},
		{"unknown opaque token", post(introspectPath, as("token", "no-such-token")), want{status: http.StatusOK, header: noStore}, "false"},
		{"forged jwt", post(introspectPath, as("token", "a.b.c")), want{status: http.StatusOK, header: noStore}, "false"},
		{"caller may not introspect", post(introspectPath, form("client_id", opaqueClient, "client_secret", opaqueSecret, "token", opaque)), want{status: http.StatusForbidden, code: "unauthorized_client", header: map[string]string{"Cache-Control": "no-store", "WWW-Authenticate": ""}}, ""},
		{"no token", post(introspectPath, as()), want{status: http.StatusBadRequest, code: "invalid_request", header: noStore}, ""},
		{"wrong secret, post", post(introspectPath, form("client_id", jwtClient, "client_secret", "nope", "token", opaque)), want{status: http.StatusUnauthorized, code: "invalid_client", header: map[string]string{"Cache-Control": "no-store", "WWW-Authenticate": ""}}, ""},
		{"wrong secret, basic", with(post(introspectPath, form("token", opaque)), "Authorization", basic(jwtClient, "nope")), want{status: http.StatusUnauthorized, code: "invalid_client", header: map[string]string{"Cache-Control": "no-store", "WWW-Authenticate": `Basic realm="sigil"`}}, ""},
		{"both auth methods", with(post(introspectPath, as("token", opaque)), "Authorization", basic(jwtClient, jwtSecret)), want{status: http.StatusBadRequest, code: "invalid_request", header: noStore}, ""},
		{"repeated token", post(introspectPath, as("token", opaque, "token", jwt)), want{status: http.StatusBadRequest, code: "invalid_request", header: noStore}, ""},
		{"wrong content type", with(post(introspectPath, as("token", opaque)), "Content-Type", "text/plain"), want{status: http.StatusBadRequest, code: "invalid_request", header: noStore}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.toAuth(tt.req)
			check(t, rec, tt.want)
			switch tt.wantActive {
			case "false":
				// RFC 7662 §2.2: nothing but active for an inactive token.
				if got := strings.TrimSpace(rec.Body.String()); got != `{"active":false}` {
					t.Errorf("body = %s, want exactly {\"active\":false}", got)
				}
			case "true":
				if body := jsonObject(t, rec); body["active"] != true || body["token_type"] != "Bearer" {
					t.Errorf("body = %v, want an active Bearer token", body)
				}
			}
		})
	}
}

// TestExpiredTokens checks that a token past its lifetime is inactive at
// introspection and refused by the resource server, whatever its format.
func TestExpiredTokens(t *testing.T) {
	e := newEnv(t)
	tokens := map[string]string{
		"opaque": e.issue(opaqueClient, opaqueSecret, "country.read"),
		"jwt":    e.issue(jwtClient, jwtSecret, "country.read"),
	}
	e.clock.Advance(5 * time.Hour)
	wantChallenge := map[string]string{
		"opaque": `Bearer error="invalid_token", error_description="token is not active"`,
		"jwt":    `Bearer error="invalid_token", error_description="token expired"`,
	}
	for format, token := range tokens {
		t.Run(format, func(t *testing.T) {
			rec := e.toAuth(post(introspectPath, form("client_id", jwtClient, "client_secret", jwtSecret, "token", token)))
			check(t, rec, want{status: http.StatusOK})
			equalJSON(t, rec.Body.Bytes(), `{"active":false}`)

			rec = e.toResource(with(get(countryPath+"/code/AUS"), "Authorization", bearer(token)))
			check(t, rec, want{status: http.StatusUnauthorized, code: "invalid_token", header: map[string]string{"WWW-Authenticate": wantChallenge[format]}})
		})
	}
}

func TestJWKS(t *testing.T) {
	rec := newEnv(t).toAuth(get(jwksPath))
	check(t, rec, want{status: http.StatusOK, header: map[string]string{"Cache-Control": "public, max-age=300"}})
	// The fake encoder lists kids; the key loaded at start is kid-1.
	equalJSON(t, rec.Body.Bytes(), `{"kids":["kid-1"]}`)
}
