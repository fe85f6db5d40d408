package echohttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

func TestBearerCheck(t *testing.T) {
	e := newEnv(t)
	opaque := e.issue(opaqueClient, opaqueSecret, "country.read")
	jwt := e.issue(jwtClient, jwtSecret, "country.read")
	noCountryScope := e.issue(jwtClient, jwtSecret, "customer.read customer.write")
	aus := countryPath + "/code/AUS"
	challenge := func(v string) map[string]string { return map[string]string{"WWW-Authenticate": v} }

	tests := []struct {
		name string
		auth []string // Authorization header values
		want want
	}{
		{"jwt", []string{bearer(jwt)}, want{status: http.StatusOK, header: challenge("")}},
		{"opaque", []string{bearer(opaque)}, want{status: http.StatusOK}},
		{"scheme in lower case", []string{"bearer " + jwt}, want{status: http.StatusOK}},
		{"no authorization", nil, want{status: http.StatusUnauthorized, header: challenge("Bearer")}},
		{"basic scheme", []string{basic(jwtClient, jwtSecret)}, want{status: http.StatusUnauthorized, header: challenge("Bearer")}},
		{"scheme only", []string{"Bearer"}, want{status: http.StatusBadRequest, code: "invalid_request",
			header: challenge(`Bearer error="invalid_request", error_description="the bearer token is empty"`)}},
		{"token with a space", []string{"Bearer abc def"}, want{status: http.StatusBadRequest, code: "invalid_request",
			header: challenge(`Bearer error="invalid_request", error_description="the bearer token is malformed"`)}},
		{"token with padding inside", []string{"Bearer ab=c"}, want{status: http.StatusBadRequest, code: "invalid_request"}},
		{"two authorization headers", []string{bearer(jwt), bearer(opaque)}, want{status: http.StatusBadRequest, code: "invalid_request"}},
		{"unknown opaque token", []string{bearer("no-such-token")}, want{status: http.StatusUnauthorized, code: "invalid_token",
			header: challenge(`Bearer error="invalid_token", error_description="token is not active"`)}},
		{"forged jwt", []string{bearer("x.y.z")}, want{status: http.StatusUnauthorized, code: "invalid_token",
			header: challenge(`Bearer error="invalid_token", error_description="malformed token"`)}},
		{"insufficient scope", []string{bearer(noCountryScope)}, want{status: http.StatusForbidden, code: "insufficient_scope",
			header: challenge(`Bearer error="insufficient_scope", scope="country.read"`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{aus, countryPath} {
				req := get(path)
				for _, v := range tt.auth {
					req.Header.Add("Authorization", v)
				}
				check(t, e.toResource(req), tt.want)
			}
		})
	}
}

func TestBearerUpstreamDown(t *testing.T) {
	e := newEnv(t, func(d *deps) {
		d.introspector = fakes.Introspector{Err: fmt.Errorf("call %s: %w", secretText, domain.ErrTemporarilyUnavailable)}
	})
	rec := e.toResource(with(get(countryPath+"/code/AUS"), "Authorization", bearer("some-opaque-token")))
	check(t, rec, want{status: http.StatusServiceUnavailable, header: map[string]string{
		"Retry-After":      "5",
		"WWW-Authenticate": "",
	}})
	equalJSON(t, rec.Body.Bytes(), `{"error":"temporarily_unavailable"}`)
	if strings.Contains(rec.Body.String(), secretText) {
		t.Errorf("body %s leaks the upstream error", rec.Body)
	}
}

// TestChallengeQuoting checks that an error description cannot break out of
// its quoted-string or split the header, as a client reads the answer over
// a real connection. net/http itself would write a CR or LF in a header
// value as a space, so no X-Evil header could ever arrive: what shows that
// the challenge was cleaned here is its exact value, quotes escaped and
// the line break gone.
func TestChallengeQuoting(t *testing.T) {
	e := newEnv(t, func(d *deps) {
		d.verifier = verifierFunc(func(context.Context, string) (domain.Token, error) {
			return domain.Token{}, domain.ErrInvalidToken.With("bad \"quote\" \\ here\r\nX-Evil: 1")
		})
	})
	srv := httptest.NewServer(e.resource)
	t.Cleanup(srv.Close)
	req, err := http.NewRequest(http.MethodGet, srv.URL+countryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", bearer("a.b.c"))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want := `Bearer error="invalid_token", error_description="bad \"quote\" \\ hereX-Evil: 1"`
	if got := resp.Header.Values("WWW-Authenticate"); resp.StatusCode != http.StatusUnauthorized || len(got) != 1 || got[0] != want {
		t.Errorf("status %d, WWW-Authenticate %q; want 401 and exactly %q", resp.StatusCode, got, want)
	}
}

func TestGetCountry(t *testing.T) {
	e := newEnv(t)
	token := e.issue(opaqueClient, opaqueSecret, "country.read")
	tests := []struct {
		code     string
		status   int
		wantBody string
	}{
		{"AUS", http.StatusOK, `{"code":"AUS","name":"AUSTRALIA"}`},
		{"aus", http.StatusOK, `{"code":"AUS","name":"AUSTRALIA"}`},
		{"AU", http.StatusOK, `{"code":"AUS","name":"AUSTRALIA"}`},
		{"nz", http.StatusOK, `{"code":"NZL","name":"NEW ZEALAND"}`},
		{"XYZ", http.StatusNotFound, `{"error":"not_found","error_description":"no country with code XYZ"}`},
		{"zz", http.StatusNotFound, `{"error":"not_found","error_description":"no country with code ZZ"}`},
		{"A1", http.StatusBadRequest, `{"error":"invalid_request","error_description":"country code must be 2 or 3 letters"}`},
		{"ABCD", http.StatusBadRequest, `{"error":"invalid_request","error_description":"country code must be 2 or 3 letters"}`},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			rec := e.toResource(with(get(countryPath+"/code/"+tt.code), "Authorization", bearer(token)))
			check(t, rec, want{status: tt.status, header: map[string]string{"WWW-Authenticate": ""}})
			equalJSON(t, rec.Body.Bytes(), tt.wantBody)
		})
	}
}

func TestListCountries(t *testing.T) {
	e := newEnv(t)
	token := e.issue(opaqueClient, opaqueSecret, "country.read")
	page := func(p, size int, codes ...string) string {
		list := make([]string, len(codes))
		for i, c := range codes {
			for _, country := range countries {
				if country.Alpha3 == c {
					list[i] = fmt.Sprintf(`{"code":%q,"name":%q}`, c, country.Name)
				}
			}
		}
		return fmt.Sprintf(`{"countries":[%s],"page":%d,"page_size":%d,"total":%d}`, strings.Join(list, ","), p, size, len(countries))
	}
	invalid := func(description string) string {
		return fmt.Sprintf(`{"error":"invalid_request","error_description":%q}`, description)
	}
	tests := []struct {
		name     string
		query    string
		status   int
		wantBody string
	}{
		{"defaults", "", http.StatusOK, page(1, 50, "AUS", "AUT", "BEL", "FRA", "NZL")},
		{"first page", "?page=1&page_size=2", http.StatusOK, page(1, 2, "AUS", "AUT")},
		{"last page, short", "?page=3&page_size=2", http.StatusOK, page(3, 2, "NZL")},
		{"past the end, empty", "?page=4&page_size=2", http.StatusOK, page(4, 2)},
		{"page not a number", "?page=x", http.StatusBadRequest, invalid("page must be an integer")},
		{"page_size not an integer", "?page_size=1.5", http.StatusBadRequest, invalid("page_size must be an integer")},
		{"negative page", "?page=-1", http.StatusBadRequest, invalid("page must be at least 1 and page_size between 1 and 250")},
		{"page_size over the limit", "?page_size=1000", http.StatusBadRequest, invalid("page must be at least 1 and page_size between 1 and 250")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.toResource(with(get(countryPath+tt.query), "Authorization", bearer(token)))
			check(t, rec, want{status: tt.status})
			equalJSON(t, rec.Body.Bytes(), tt.wantBody)
		})
	}
}

// TestAudience checks a resource server that knows its own identifier
// (RFC 8707): a token asked for it passes, a token for someone else is
// invalid_token, whatever its format.
func TestAudience(t *testing.T) {
	e := newEnv(t, func(d *deps) { d.audience = application.DemoResource })
	notForUs := `Bearer error="invalid_token", error_description="the token is not intended for this resource"`
	tests := []struct {
		name  string
		token string
		want  want
	}{
		{"jwt for this resource", e.issue(jwtClient, jwtSecret, "country.read", "resource", application.DemoResource), want{status: http.StatusOK}},
		{"jwt without resource", e.issue(jwtClient, jwtSecret, "country.read"), want{status: http.StatusUnauthorized, code: "invalid_token",
			header: map[string]string{"WWW-Authenticate": notForUs}}},
		{"jwt for another resource", e.issue(resourceClient, resourceSecret, "country.read", "resource", resourceA), want{status: http.StatusUnauthorized, code: "invalid_token",
			header: map[string]string{"WWW-Authenticate": notForUs}}},
		{"opaque for its client", e.issue(opaqueClient, opaqueSecret, "country.read"), want{status: http.StatusUnauthorized, code: "invalid_token",
			header: map[string]string{"WWW-Authenticate": notForUs}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{countryPath, countryPath + "/code/AUS"} {
				check(t, e.toResource(with(get(path), "Authorization", bearer(tt.token))), tt.want)
			}
		})
	}
}
