package echohttp_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/sigilauth/sigil/application"
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

func TestJWKSDocument(t *testing.T) {
	rec := newEnv(t).toAuth(get(jwksPath))
	check(t, rec, want{status: http.StatusOK, header: map[string]string{"Cache-Control": "public, max-age=300"}})
	// The fake encoder lists kids; the key loaded at start is kid-1.
	equalJSON(t, rec.Body.Bytes(), `{"kids":["kid-1"]}`)
}

// TestResourceIndicators checks the resource parameter (RFC 8707 §2): the
// one parameter that may repeat, each value becoming the token's aud.
func TestResourceIndicators(t *testing.T) {
	as := func(id, secret string, pairs ...string) string {
		return form(append([]string{"grant_type", "client_credentials", "client_id", id, "client_secret", secret}, pairs...)...)
	}
	tests := []struct {
		name    string
		body    string
		wantAud string // JSON array; "" for an error
		want    want
	}{
		{"no resource: the default audience", as(resourceClient, resourceSecret), `["resource-client"]`, want{}},
		{"empty resource is no resource", as(resourceClient, resourceSecret, "resource", ""), `["resource-client"]`, want{}},
		{"one resource", as(resourceClient, resourceSecret, "resource", resourceA), `["https://api.example.com/a"]`, want{}},
		{"two resources", as(resourceClient, resourceSecret, "resource", resourceB, "resource", resourceA), `["https://api.example.com/a","https://api.example.com/b"]`, want{}},
		{"the same resource twice", as(resourceClient, resourceSecret, "resource", resourceA, "resource", resourceA), `["https://api.example.com/a"]`, want{}},
		{"the seed's resource", as(jwtClient, jwtSecret, "resource", "http://localhost:8091/ms-system"), `["http://localhost:8091/ms-system"]`, want{}},
		{"resource not allowed", as(resourceClient, resourceSecret, "resource", "https://api.example.com/c"), "", want{status: http.StatusBadRequest, code: "invalid_target"}},
		{"one of two not allowed", as(resourceClient, resourceSecret, "resource", resourceA, "resource", "https://evil.example/"), "", want{status: http.StatusBadRequest, code: "invalid_target"}},
		{"resource with a fragment", as(resourceClient, resourceSecret, "resource", resourceA+"#frag"), "", want{status: http.StatusBadRequest, code: "invalid_target"}},
		{"relative resource", as(resourceClient, resourceSecret, "resource", "/a"), "", want{status: http.StatusBadRequest, code: "invalid_target"}},
		{"another parameter repeated beside resources", as(resourceClient, resourceSecret, "resource", resourceA, "resource", resourceB, "scope", "country.read", "scope", "country.read"), "", want{status: http.StatusBadRequest, code: "invalid_request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.wantAud == "" {
				tt.want.header = map[string]string{"Cache-Control": "no-store", "WWW-Authenticate": ""}
				check(t, e.toAuth(post(tokenPath, tt.body)), tt.want)
				return
			}
			token := e.tokenFrom(post(tokenPath, tt.body))
			rec := e.toAuth(post(introspectPath, form("client_id", jwtClient, "client_secret", jwtSecret, "token", token)))
			equalJSON(t, marshal(t, jsonObject(t, rec)["aud"]), tt.wantAud)
		})
	}
}

// TestIntrospectionJWT checks RFC 9701 negotiation: a caller preferring
// application/token-introspection+jwt gets a signed answer, anyone else
// JSON.
func TestIntrospectionJWT(t *testing.T) {
	const jwtType = "application/token-introspection+jwt"
	tests := []struct {
		name    string
		accept  []string // Accept header values
		wantJWT bool
	}{
		{"no accept", nil, false},
		{"the jwt type", []string{jwtType}, true},
		{"the jwt type in another case", []string{"APPLICATION/Token-Introspection+JWT"}, true},
		{"json", []string{"application/json"}, false},
		{"anything", []string{"*/*"}, false},
		{"any application type", []string{"application/*"}, false},
		{"html only", []string{"text/html"}, false},
		{"jwt then json", []string{jwtType + ", application/json"}, true},
		{"json then jwt", []string{"application/json, " + jwtType}, true},
		{"json weighed lower", []string{"application/json;q=0.9, " + jwtType}, true},
		{"weights in two header values", []string{"application/json; q=0.9", jwtType + "; q=1.0"}, true},
		{"jwt weighed above any application type", []string{"application/*;q=0.1, " + jwtType + ";q=0.2"}, true},
		{"jwt weighed lower than json", []string{jwtType + ";q=0.5, application/json"}, false},
		{"jwt named twice, the higher weight counts", []string{jwtType + ", " + jwtType + ";q=0.1, application/json;q=0.5"}, true},
		{"jwt weighed lower than anything", []string{jwtType + ";q=0.5, */*"}, false},
		{"jwt refused with q=0", []string{jwtType + ";q=0"}, false},
		{"jwt refused with q=0.000", []string{jwtType + ";q=0.000, */*;q=0.1"}, false},
		{"weight above 1 is malformed", []string{jwtType + ";q=2"}, false},
		{"weight not a number is malformed", []string{jwtType + ";q=abc"}, false},
	}
	e := newEnv(t)
	tokens := map[string]string{
		"active":   e.issue(opaqueClient, opaqueSecret, "country.read"),
		"inactive": "no-such-token",
	}
	for _, tt := range tests {
		for state, token := range tokens {
			t.Run(tt.name+"/"+state, func(t *testing.T) {
				req := post(introspectPath, form("client_id", jwtClient, "client_secret", jwtSecret, "token", token))
				for _, v := range tt.accept {
					req.Header.Add("Accept", v)
				}
				rec := e.toAuth(req)
				w := want{status: http.StatusOK, header: map[string]string{"Cache-Control": "no-store", "Vary": "Accept"}}
				if !tt.wantJWT {
					check(t, rec, w)
					if active := jsonObject(t, rec)["active"]; active != (state == "active") {
						t.Errorf("active = %v in %s", active, rec.Body)
					}
					return
				}
				w.contentType = jwtType
				check(t, rec, w)
				signed := decodeIntrospectionJWT(t, rec.Body.String())
				if signed.Issuer != issuer || signed.Audience != jwtClient || !signed.IssuedAt.Equal(start) {
					t.Errorf("signed introspection iss %q aud %q iat %v, want %q, %q, %v", signed.Issuer, signed.Audience, signed.IssuedAt, issuer, jwtClient, start)
				}
				if signed.Result.Active != (state == "active") {
					t.Errorf("signed introspection active = %v", signed.Result.Active)
				}
				if state == "active" && signed.Result.Token.ClientID != opaqueClient {
					t.Errorf("signed introspection client_id = %q", signed.Result.Token.ClientID)
				}
			})
		}
	}
}

// TestIntrospectionJWTErrorsStayJSON checks that a failure is an RFC 7662
// §2.3 JSON error even for a caller that asked for a JWT.
func TestIntrospectionJWTErrorsStayJSON(t *testing.T) {
	e := newEnv(t)
	req := post(introspectPath, form("client_id", jwtClient, "client_secret", "nope", "token", "x"))
	req.Header.Set("Accept", "application/token-introspection+jwt")
	check(t, e.toAuth(req), want{status: http.StatusUnauthorized, code: "invalid_client"})
}

// decodeIntrospectionJWT reads back what fakes.IntrospectionSigner signed.
func decodeIntrospectionJWT(t *testing.T, jwt string) application.SignedIntrospection {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || parts[0] != "introspection" {
		t.Fatalf("body %q is not a signed introspection", jwt)
	}
	b, err := hex.DecodeString(parts[1])
	var out application.SignedIntrospection
	if err != nil || json.Unmarshal(b, &out) != nil {
		t.Fatalf("body %q does not decode", jwt)
	}
	return out
}
