package echohttp_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestRevocation revokes tokens of both formats (RFC 7009) and checks what
// introspection says afterwards.
func TestRevocation(t *testing.T) {
	type party struct{ id, secret string }
	owners := map[string]struct{ owner, other party }{
		"opaque": {owner: party{opaqueClient, opaqueSecret}, other: party{jwtClient, jwtSecret}},
		"jwt":    {owner: party{jwtClient, jwtSecret}, other: party{opaqueClient, opaqueSecret}},
	}
	revoked := want{status: http.StatusOK, contentType: emptyBody, header: map[string]string{"Cache-Control": "no-store"}}
	noChallenge := map[string]string{"Cache-Control": "no-store", "WWW-Authenticate": ""}

	tests := []struct {
		name string
		// req builds the revocation request for token, owned by owner.
		req         func(token string, owner, other party) *http.Request
		want        want
		stillActive bool
	}{
		{
			name: "owner, client_secret_post",
			req: func(token string, owner, _ party) *http.Request {
				return post(revokePath, form("client_id", owner.id, "client_secret", owner.secret, "token", token))
			},
			want: revoked,
		},
		{
			name: "owner, client_secret_basic, with hint",
			req: func(token string, owner, _ party) *http.Request {
				return with(post(revokePath, form("token", token, "token_type_hint", "access_token")), "Authorization", basic(owner.id, owner.secret))
			},
			want: revoked,
		},
		{
			// RFC 7009 §2.1: a hint that does not fit does not stop the
			// search across every kind of token.
			name: "owner, misleading hint",
			req: func(token string, owner, _ party) *http.Request {
				return post(revokePath, form("client_id", owner.id, "client_secret", owner.secret, "token", token, "token_type_hint", "refresh_token"))
			},
			want: revoked,
		},
		{
			name: "another client",
			req: func(token string, _, other party) *http.Request {
				return post(revokePath, form("client_id", other.id, "client_secret", other.secret, "token", token))
			},
			want:        want{status: http.StatusBadRequest, code: "unauthorized_client", header: noChallenge},
			stillActive: true,
		},
		{
			// RFC 7009 §2.2: an invalid token is not an error.
			name: "unknown token",
			req: func(_ string, owner, _ party) *http.Request {
				return post(revokePath, form("client_id", owner.id, "client_secret", owner.secret, "token", "no-such-token"))
			},
			want:        revoked,
			stillActive: true,
		},
		{
			name: "forged jwt",
			req: func(_ string, owner, _ party) *http.Request {
				return post(revokePath, form("client_id", owner.id, "client_secret", owner.secret, "token", "a.b.c"))
			},
			want:        revoked,
			stillActive: true,
		},
		{
			name: "missing token",
			req: func(_ string, owner, _ party) *http.Request {
				return post(revokePath, form("client_id", owner.id, "client_secret", owner.secret))
			},
			want:        want{status: http.StatusBadRequest, code: "invalid_request", header: noChallenge},
			stillActive: true,
		},
		{
			name: "wrong secret, post",
			req: func(token string, owner, _ party) *http.Request {
				return post(revokePath, form("client_id", owner.id, "client_secret", "nope", "token", token))
			},
			want:        want{status: http.StatusUnauthorized, code: "invalid_client", header: noChallenge},
			stillActive: true,
		},
		{
			name: "wrong secret, basic",
			req: func(token string, owner, _ party) *http.Request {
				return with(post(revokePath, form("token", token)), "Authorization", basic(owner.id, "nope"))
			},
			want: want{status: http.StatusUnauthorized, code: "invalid_client", header: map[string]string{
				"Cache-Control": "no-store", "WWW-Authenticate": `Basic realm="sigil"`,
			}},
			stillActive: true,
		},
		{
			name: "no client authentication",
			req: func(token string, _, _ party) *http.Request {
				return post(revokePath, form("token", token))
			},
			want:        want{status: http.StatusUnauthorized, code: "invalid_client", header: noChallenge},
			stillActive: true,
		},
		{
			name: "basic and client_secret in body",
			req: func(token string, owner, _ party) *http.Request {
				return with(post(revokePath, form("client_secret", owner.secret, "token", token)), "Authorization", basic(owner.id, owner.secret))
			},
			want:        want{status: http.StatusBadRequest, code: "invalid_request", header: noChallenge},
			stillActive: true,
		},
		{
			name: "repeated token",
			req: func(token string, owner, _ party) *http.Request {
				return post(revokePath, form("client_id", owner.id, "client_secret", owner.secret, "token", token, "token", token))
			},
			want:        want{status: http.StatusBadRequest, code: "invalid_request", header: noChallenge},
			stillActive: true,
		},
	}
	for format, p := range owners {
		for _, tt := range tests {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t)
				token := e.issue(p.owner.id, p.owner.secret, "country.read")
				if (format == "jwt") != (strings.Count(token, ".") == 2) {
					t.Fatalf("token %q is not a %s token", token, format)
				}
				check(t, e.toAuth(tt.req(token, p.owner, p.other)), tt.want)
				if active := e.introspect(token); active != tt.stillActive {
					t.Errorf("introspection says active = %v after revocation, want %v", active, tt.stillActive)
				}
			})
		}
	}
}

// TestRevocationIsIdempotent revokes twice: the second time the token is
// unknown, which is still success (RFC 7009 §2.2).
func TestRevocationIsIdempotent(t *testing.T) {
	e := newEnv(t)
	for _, token := range []string{
		e.issue(opaqueClient, opaqueSecret, "country.read"),
		e.issue(jwtClient, jwtSecret, "country.read"),
	} {
		owner, secret := opaqueClient, opaqueSecret
		if strings.Contains(token, ".") {
			owner, secret = jwtClient, jwtSecret
		}
		for range 2 {
			rec := e.toAuth(post(revokePath, form("client_id", owner, "client_secret", secret, "token", token)))
			check(t, rec, want{status: http.StatusOK, contentType: emptyBody})
		}
	}
}

// TestRevokedOpaqueTokenRefused checks that the resource server, which
// introspects opaque tokens, refuses one once revoked.
func TestRevokedOpaqueTokenRefused(t *testing.T) {
	e := newEnv(t)
	token := e.issue(opaqueClient, opaqueSecret, "country.read")
	aus := with(get(countryPath+"/code/AUS"), "Authorization", bearer(token))
	check(t, e.toResource(aus), want{status: http.StatusOK})

	check(t, e.toAuth(post(revokePath, form("client_id", opaqueClient, "client_secret", opaqueSecret, "token", token))),
		want{status: http.StatusOK, contentType: emptyBody})

	aus = with(get(countryPath+"/code/AUS"), "Authorization", bearer(token))
	check(t, e.toResource(aus), want{status: http.StatusUnauthorized, code: "invalid_token"})
}

func TestRevocationMethod(t *testing.T) {
	rec := newEnv(t).toAuth(get(revokePath))
	check(t, rec, want{status: http.StatusMethodNotAllowed, code: "method_not_allowed"})
	if allow := rec.Header().Get("Allow"); !strings.Contains(allow, "POST") {
		t.Errorf("Allow = %q, want POST", allow)
	}
}
