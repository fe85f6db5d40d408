package echohttp_test

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/adapters/internal/requestid"
	"github.com/sigilauth/sigil/domain"
)

// presented is a wrong secret a caller sends: like every credential, it
// must never reach the log.
const presented = "wrong-S3CR3T-hunter3"

// accessLine is the access line of the request with X-Request-Id id.
func (e *env) accessLine(t *testing.T, id string) map[string]any {
	t.Helper()
	for _, r := range e.logs.records(t, "request") {
		if r["request_id"] == id {
			return r
		}
	}
	t.Fatalf("no access line with request_id %q; log:\n%s", id, e.logs)
	return nil
}

// isSeconds reports whether v is a duration as the access line writes it:
// a JSON number of seconds, fractional, well under a minute in a test.
func isSeconds(v any) bool {
	f, ok := v.(float64)
	return ok && f > 0 && f < 60
}

// TestAccessLineExplainsRefusals sends requests that succeed and requests
// refused for each kind of reason, and reads the one access line of each:
// who called, from where, what was answered and why, in words; and never
// a secret, an assertion or a token.
func TestAccessLineExplainsRefusals(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	e := newEnv(t, func(d *deps) {
		d.failureLimit = 3
		d.trustedProxies = proxies
	})
	token := e.issue(jwtClient, jwtSecret, "country.read")
	expiring := e.issue(jwtClient, jwtSecret, "country.read")

	replayed := e.assertion(keyClient, domain.AuthPrivateKeyJWT)
	expired := e.assertion(keyClient, domain.AuthPrivateKeyJWT)
	expired.Claims.ExpiresAt = e.clock.Now().Add(-time.Minute)
	otherKid := e.assertion(keyClient, domain.AuthPrivateKeyJWT)
	otherKid.Kid = "not-a-registered-kid"
	assertionBody := func(a string) string {
		return form("grant_type", "client_credentials", "client_id", keyClient,
			"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", a)
	}
	if rec := e.toAuth(post(tokenPath, assertionBody(replayed.Encode()))); rec.Code != http.StatusOK {
		t.Fatalf("first use of the assertion: status %d, body %s", rec.Code, rec.Body)
	}

	// role picks the server to send the request to.
	type line struct {
		role, path, client, code, reason string
		status                           float64
	}
	tests := []struct {
		name string
		req  func() *http.Request
		want line
	}{
		{"token issued",
			func() *http.Request {
				return with(post(tokenPath, form("grant_type", "client_credentials", "scope", "country.read")), "Authorization", basic(jwtClient, jwtSecret))
			},
			line{role: "auth", path: tokenPath, client: jwtClient, status: 200}},
		{"token issued for an assertion without client_id",
			func() *http.Request {
				a := e.assertion(keyClient, domain.AuthPrivateKeyJWT)
				return post(tokenPath, form(append([]string{"grant_type", "client_credentials"}, assertionParams(a)...)...))
			},
			line{role: "auth", path: tokenPath, client: keyClient, status: 200}},
		{"wrong secret",
			func() *http.Request {
				return with(post(tokenPath, form("grant_type", "client_credentials")), "Authorization", basic(opaqueClient, presented))
			},
			line{role: "auth", path: tokenPath, client: opaqueClient, code: "invalid_client", reason: "wrong secret", status: 401}},
		{"unknown client",
			func() *http.Request {
				return post(tokenPath, form("grant_type", "client_credentials", "client_id", "nobody", "client_secret", presented))
			},
			line{role: "auth", path: tokenPath, client: "nobody", code: "invalid_client", reason: "unknown client", status: 401}},
		{"scope not allowed",
			func() *http.Request {
				return post(tokenPath, form("grant_type", "client_credentials", "client_id", oddClient, "client_secret", oddSecret, "scope", "customer.write"))
			},
			line{role: "auth", path: tokenPath, client: oddClient, code: "invalid_scope", reason: "scope customer.write is not allowed for this client", status: 400}},
		{"assertion replayed",
			func() *http.Request { return post(tokenPath, assertionBody(replayed.Encode())) },
			line{role: "auth", path: tokenPath, client: keyClient, code: "invalid_client", reason: "assertion replayed", status: 401}},
		{"assertion expired",
			func() *http.Request { return post(tokenPath, assertionBody(expired.Encode())) },
			line{role: "auth", path: tokenPath, client: keyClient, code: "invalid_client", reason: "assertion expired", status: 401}},
		{"assertion signed with a key the client does not have",
			func() *http.Request { return post(tokenPath, assertionBody(otherKid.Encode())) },
			line{role: "auth", path: tokenPath, client: keyClient, code: "invalid_client", reason: "client assertion signature is invalid", status: 401}},
		{"introspection by a client with a wrong secret",
			func() *http.Request {
				return post(introspectPath, form("client_id", jwtClient, "client_secret", presented, "token", token))
			},
			line{role: "auth", path: introspectPath, client: jwtClient, code: "invalid_client", reason: "wrong secret", status: 401}},
		{"resource served",
			func() *http.Request { return with(get(countryPath+"/code/AUS"), "Authorization", bearer(token)) },
			line{role: "resource", path: countryPath + "/code/AUS", client: jwtClient, status: 200}},
		{"resource without a token",
			func() *http.Request { return get(countryPath + "/code/AUS") },
			line{role: "resource", path: countryPath + "/code/AUS", code: "unauthorized", reason: "no bearer token", status: 401}},
		{"resource with a token that is not one",
			func() *http.Request {
				return with(get(countryPath+"/code/AUS"), "Authorization", bearer("fake.00."+presented))
			},
			line{role: "resource", path: countryPath + "/code/AUS", code: "invalid_token", reason: "malformed token", status: 401}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := strings.NewReplacer(" ", "-").Replace(tt.name)
			req := tt.req()
			req.RemoteAddr = "10.1.2.3:4000"
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			req.Header.Set("User-Agent", "sigil-test/1.0")
			req.Header.Set("X-Request-Id", id)
			rec := e.serve(map[string]*echo.Echo{"auth": e.auth, "resource": e.resource}[tt.want.role], req)
			if float64(rec.Code) != tt.want.status {
				t.Fatalf("status %d, want %v; body %s", rec.Code, tt.want.status, rec.Body)
			}
			r := e.accessLine(t, id)
			checkLine(t, r, tt.want.path, tt.want.client, tt.want.code, tt.want.reason, tt.want.status)
			// The address is the caller's, as the trusted proxy tells it.
			if r["remote_addr"] != "203.0.113.9" || r["user_agent"] != "sigil-test/1.0" {
				t.Errorf("access line remote_addr %v, user_agent %v; want the caller's", r["remote_addr"], r["user_agent"])
			}
		})
	}

	// An expired token at the resource: the reason is the verifier's.
	e.clock.Advance(5 * time.Hour)
	req := with(get(countryPath), "Authorization", bearer(expiring))
	req.Header.Set("X-Request-Id", "expired-token")
	if rec := e.toResource(req); rec.Code != http.StatusUnauthorized {
		t.Fatalf("expired token: status %d, body %s", rec.Code, rec.Body)
	}
	checkLine(t, e.accessLine(t, "expired-token"), countryPath, "", "invalid_token", "token expired", 401)

	// Wrong secrets until the throttle refuses the client id.
	var throttled map[string]any
	for i := range 6 {
		id := "throttle-" + string(rune('a'+i))
		req := post(tokenPath, form("grant_type", "client_credentials", "client_id", hmacClient, "client_secret", presented))
		req.Header.Set("X-Request-Id", id)
		if rec := e.toAuth(req); rec.Code == http.StatusTooManyRequests {
			throttled = e.accessLine(t, id)
			break
		}
	}
	if throttled == nil {
		t.Fatal("six wrong secrets in a row were never throttled")
	}
	checkLine(t, throttled, tokenPath, hmacClient, "temporarily_unavailable", "throttled: too many failed authentication attempts", 429)

	log := e.logs.String()
	for _, secret := range []string{jwtSecret, oddSecret, presented, token, expiring, replayed.Encode(), expired.Encode(), hmacSecret} {
		if strings.Contains(log, secret) {
			t.Errorf("log contains the credential %q:\n%s", secret, log)
		}
	}
}

func checkLine(t *testing.T, r map[string]any, path, client, code, reason string, status float64) {
	t.Helper()
	for key, want := range map[string]any{
		"method": r["method"], "path": path, "status": status,
		"client_id": client, "error": code, "reason": reason,
	} {
		got, ok := r[key]
		if want == "" {
			if ok {
				t.Errorf("access line has %s=%v, want none; line %v", key, got, r)
			}
			continue
		}
		if got != want {
			t.Errorf("access line %s = %v, want %v; line %v", key, got, want, r)
		}
	}
	if !isSeconds(r["duration_s"]) {
		t.Errorf("access line duration_s = %v, want seconds; line %v", r["duration_s"], r)
	}
	if _, ok := r["duration"]; ok {
		t.Errorf("access line still has duration in nanoseconds: %v", r)
	}
	for _, key := range []string{"remote_addr", "user_agent", "request_id", "method"} {
		if _, ok := r[key]; !ok {
			t.Errorf("access line has no %s: %v", key, r)
		}
	}
}

// introspectorFunc answers every introspection with f.
type introspectorFunc func(ctx context.Context, raw string) (domain.Token, error)

func (f introspectorFunc) IntrospectToken(ctx context.Context, raw string) (domain.Token, error) {
	return f(ctx, raw)
}

// The resource server's check of an opaque token carries the request's
// id, which the introspection client sends on (X-Request-Id).
func TestRequestIDReachesIntrospection(t *testing.T) {
	var seen []string
	e := newEnv(t, func(d *deps) {
		d.introspector = introspectorFunc(func(ctx context.Context, raw string) (domain.Token, error) {
			seen = append(seen, requestid.From(ctx))
			return domain.Token{}, domain.ErrInvalidToken.With("token is not active")
		})
	})
	req := with(get(countryPath), "Authorization", bearer("opaque-token"))
	req.Header.Set("X-Request-Id", "from-the-proxy")
	e.toResource(req)
	rec := e.toResource(with(get(countryPath), "Authorization", bearer("opaque-token")))
	made := rec.Header().Get("X-Request-Id")
	if len(seen) != 2 || seen[0] != "from-the-proxy" || seen[1] != made || made == "" {
		t.Errorf("introspection saw request ids %q, want from-the-proxy and the made-up %q", seen, made)
	}
}
