package echohttp_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// TestClientAssertions authenticates clients with JWT assertions (RFC 7523
// §2.2) at the token endpoint.
func TestClientAssertions(t *testing.T) {
	grant := []string{"grant_type", "client_credentials"}
	byKey := func(e *env) fakes.Assertion { return e.assertion(keyClient, domain.AuthPrivateKeyJWT) }
	bySecret := func(e *env) fakes.Assertion { return e.assertion(hmacClient, domain.AuthClientSecretJWT) }
	noStore := map[string]string{"Cache-Control": "no-store", "WWW-Authenticate": ""}
	issued := want{status: http.StatusOK, header: map[string]string{"Cache-Control": "no-store"}}
	refused := want{status: http.StatusUnauthorized, code: "invalid_client", header: noStore}
	oneMethod := want{status: http.StatusBadRequest, code: "invalid_request", header: noStore}

	tests := []struct {
		name string
		// params are the form parameters besides grant_type.
		params func(e *env) []string
		// authorization, if set, is sent as the Authorization header.
		authorization string
		want          want
	}{
		{
			name:   "private_key_jwt",
			params: func(e *env) []string { return assertionParams(byKey(e)) },
			want:   issued,
		},
		{
			name:   "client_secret_jwt",
			params: func(e *env) []string { return assertionParams(bySecret(e)) },
			want:   issued,
		},
		{
			name:   "with the same client_id",
			params: func(e *env) []string { return append(assertionParams(byKey(e)), "client_id", keyClient) },
			want:   issued,
		},
		{
			name: "addressed to the token endpoint",
			params: func(e *env) []string {
				a := byKey(e)
				a.Claims.Audience = []string{issuer + "/oauth2/token"}
				return assertionParams(a)
			},
			want: issued,
		},
		{
			name:   "with another client_id",
			params: func(e *env) []string { return append(assertionParams(byKey(e)), "client_id", hmacClient) },
			want:   refused,
		},
		{
			name:   "with a client_secret too",
			params: func(e *env) []string { return append(assertionParams(bySecret(e)), "client_secret", hmacSecret) },
			want:   oneMethod,
		},
		{
			name:          "with basic too",
			params:        func(e *env) []string { return assertionParams(byKey(e)) },
			authorization: basic(jwtClient, jwtSecret),
			want:          oneMethod,
		},
		{
			name: "wrong assertion type",
			params: func(e *env) []string {
				return []string{"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer", "client_assertion", byKey(e).Encode()}
			},
			want: refused,
		},
		{
			name:   "type without assertion",
			params: func(*env) []string { return []string{"client_assertion_type", application.AssertionTypeJWTBearer} },
			want:   refused,
		},
		{
			name:   "assertion without type",
			params: func(e *env) []string { return []string{"client_assertion", byKey(e).Encode()} },
			want:   refused,
		},
		{
			name: "malformed assertion",
			params: func(*env) []string {
				return []string{"client_assertion_type", application.AssertionTypeJWTBearer, "client_assertion", "a.b.c"}
			},
			want: refused,
		},
		{
			name:   "signed with an unknown key",
			params: func(e *env) []string { a := byKey(e); a.Kid = "other-kid"; return assertionParams(a) },
			want:   refused,
		},
		{
			name:   "signed with a wrong secret",
			params: func(e *env) []string { a := bySecret(e); a.Secret = "guess"; return assertionParams(a) },
			want:   refused,
		},
		{
			name: "a method the client may not use",
			params: func(e *env) []string {
				a := e.assertion(keyClient, domain.AuthClientSecretJWT)
				return assertionParams(a)
			},
			want: refused,
		},
		{
			name: "expired",
			params: func(e *env) []string {
				a := byKey(e)
				a.Claims.IssuedAt, a.Claims.ExpiresAt = start.Add(-time.Hour), start.Add(-time.Minute)
				return assertionParams(a)
			},
			want: refused,
		},
		{
			name: "addressed to another server",
			params: func(e *env) []string {
				a := byKey(e)
				a.Claims.Audience = []string{"https://other.example"}
				return assertionParams(a)
			},
			want: refused,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			req := post(tokenPath, form(append(grant, tt.params(e)...)...))
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			rec := e.toAuth(req)
			check(t, rec, tt.want)
			if tt.want.status != http.StatusOK {
				if d, _ := jsonObject(t, rec)["error_description"].(string); d == "" {
					t.Errorf("no error_description in %s", rec.Body)
				}
			}
		})
	}
}

// TestClientAssertionReplay checks that an assertion works once (RFC 7523
// §3, item 7) at each endpoint that authenticates clients.
func TestClientAssertionReplay(t *testing.T) {
	e := newEnv(t)
	token := e.issue(opaqueClient, opaqueSecret, "country.read")
	bodies := map[string]func(a fakes.Assertion) (string, string){
		"token": func(a fakes.Assertion) (string, string) {
			return tokenPath, form(append([]string{"grant_type", "client_credentials"}, assertionParams(a)...)...)
		},
		"introspection": func(a fakes.Assertion) (string, string) {
			return introspectPath, form(append([]string{"token", token}, assertionParams(a)...)...)
		},
		// Unknown to the revoking client's list but answered 200 all the
		// same (RFC 7009 §2.2), so only authentication can fail.
		"revocation": func(a fakes.Assertion) (string, string) {
			return revokePath, form(append([]string{"token", "no-such-token"}, assertionParams(a)...)...)
		},
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			path, b := body(e.assertion(keyClient, domain.AuthPrivateKeyJWT))
			if rec := e.toAuth(post(path, b)); rec.Code != http.StatusOK {
				t.Fatalf("first use: status %d, body %s", rec.Code, rec.Body)
			}
			check(t, e.toAuth(post(path, b)), want{status: http.StatusUnauthorized, code: "invalid_client",
				header: map[string]string{"WWW-Authenticate": "", "Cache-Control": "no-store"}})
		})
	}
}

// TestClientAssertionsAtOtherEndpoints uses assertions to introspect and
// to revoke.
func TestClientAssertionsAtOtherEndpoints(t *testing.T) {
	e := newEnv(t)
	// hmac-client gets a JWT with its assertion, introspects it with
	// another, and revokes it with a third.
	token := e.tokenFrom(post(tokenPath, form(append([]string{"grant_type", "client_credentials"},
		assertionParams(e.assertion(hmacClient, domain.AuthClientSecretJWT))...)...)))

	rec := e.toAuth(post(introspectPath, form(append([]string{"token", token},
		assertionParams(e.assertion(keyClient, domain.AuthPrivateKeyJWT))...)...)))
	check(t, rec, want{status: http.StatusOK})
	if body := jsonObject(t, rec); body["active"] != true || body["client_id"] != hmacClient {
		t.Errorf("introspection = %s, want active and issued to %s", rec.Body, hmacClient)
	}

	rec = e.toAuth(post(revokePath, form(append([]string{"token", token},
		assertionParams(e.assertion(hmacClient, domain.AuthClientSecretJWT))...)...)))
	check(t, rec, want{status: http.StatusOK, contentType: emptyBody})
	if e.introspect(token) {
		t.Error("token still active after revocation")
	}

	// An assertion next to Basic is two methods at every endpoint.
	for _, path := range []string{introspectPath, revokePath} {
		req := with(post(path, form(append([]string{"token", token},
			assertionParams(e.assertion(keyClient, domain.AuthPrivateKeyJWT))...)...)), "Authorization", basic(jwtClient, jwtSecret))
		check(t, e.toAuth(req), want{status: http.StatusBadRequest, code: "invalid_request"})
	}
}
