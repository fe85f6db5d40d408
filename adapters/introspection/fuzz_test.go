package introspection_test

// Fuzz target for the introspection answer a resource server reads from
// the authorization server (RFC 7662 §2.2). The answer is served by an
// in-process RoundTripper: what is fuzzed is the decoding, not the
// network.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/adapters/introspection"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// fixedAnswer answers every request with its status and body.
type fixedAnswer struct {
	status int
	body   []byte
}

func (a fixedAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode: a.status,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(a.body)),
		Request:    r,
	}, nil
}

func introspect(status int, body []byte) (domain.Token, error) {
	c := introspection.NewClient("https://auth.example.test/oauth2/introspect", "rs", "secret",
		&http.Client{Transport: fixedAnswer{status, body}}, fakes.NewClock(now))
	return c.IntrospectToken(context.Background(), "opaque-token")
}

// activeFlag is what encoding/json makes of the answer's active member:
// names match case-insensitively and the last one wins.
func activeFlag(body []byte) (active, present bool) {
	var probe struct {
		Active *bool `json:"active"`
	}
	if json.Unmarshal(body, &probe) != nil || probe.Active == nil {
		return false, false
	}
	return *probe.Active, true
}

// FuzzIntrospectionAnswer checks the decoding of any answer: a token only
// from a 200 whose active member is true, for the token asked about, not
// expired by our clock, with well-formed scopes; every failure is
// invalid_token (inactive, expired, bad scope) or temporarily unavailable
// (anything the server should not have said), never both a token and an
// error; and Sigil's own answer for any claims reads back as those claims
// (see FuzzIntrospectionRoundTrip).
func FuzzIntrospectionAnswer(f *testing.F) {
	exp := now.Add(time.Hour).Unix()
	f.Add(200, []byte(`{"active":true,"client_id":"svc-a","scope":"b a","exp":1893553445,"aud":"x"}`), "svc-a", "sub", "a b", exp, "aud")
	f.Add(200, []byte(`{"active":false}`), "", "", "", int64(0), "")
	f.Add(200, []byte(`{"active":true,"exp":1}`), "c", "", "", exp, "")
	f.Add(200, []byte(`{"active":"true"}`), "c", "s", "x\"y", exp, "a\nb")
	f.Add(200, []byte(`{"ACTIVE":true,"scope":["a","b"],"aud":["x","y"]}`), "", "", "", exp, "")
	f.Add(200, []byte(`{"active":true,"scope":"a\\u0000"}`), "", "", "", int64(1), "")
	f.Add(200, []byte(`{"active":true,"exp":1e400}`), "", "", "", int64(253402300799), "")
	f.Add(401, []byte(`{"active":true}`), "", "", "", exp, "")
	f.Add(503, []byte(``), "", "", "", exp, "")
	f.Add(200, []byte(`null`), "", "", "", exp, "")
	f.Fuzz(func(t *testing.T, status int, body []byte, clientID, sub, scope string, exp int64, aud string) {
		if status < 100 || status > 999 {
			status = 200
		}
		got, err := introspect(status, body)
		if err != nil {
			if !reflect.ValueOf(got).IsZero() {
				t.Fatalf("token %+v returned with error %v", got, err)
			}
			if !errors.Is(err, domain.ErrInvalidToken) && !errors.Is(err, domain.ErrTemporarilyUnavailable) {
				t.Fatalf("error %v is neither invalid_token nor unavailable", err)
			}
			if status != http.StatusOK && !errors.Is(err, domain.ErrTemporarilyUnavailable) {
				t.Fatalf("status %d gave %v, want unavailable", status, err)
			}
			if errors.Is(err, domain.ErrTemporarilyUnavailable) && strings.Contains(err.Error(), "opaque-token") {
				t.Fatalf("error %q names the token", err)
			}
		} else {
			if status != http.StatusOK {
				t.Fatalf("status %d gave a token", status)
			}
			if active, ok := activeFlag(body); !ok || !active {
				t.Fatalf("answer %s gave a token; it does not say active", body)
			}
			if got.Value != "opaque-token" || got.Format != domain.FormatOpaque {
				t.Fatalf("token %+v is not the one asked about", got)
			}
			if !got.ExpiresAt.IsZero() && !now.Before(got.ExpiresAt) {
				t.Fatalf("token expired at %v accepted at %v", got.ExpiresAt, now)
			}
			if again, err := domain.ParseScopes(got.Scopes.String()); err != nil || !slices.Equal(again, got.Scopes) {
				t.Fatalf("token scopes %q are not well formed", got.Scopes)
			}
		}

		// The other direction: Sigil's own answer for these claims.
		tok, ok := activeToken(clientID, sub, scope, "", "", aud, 0, exp, 0)
		if ok {
			checkRoundTrip(t, tok)
		}
	})
}

// unixOrZero is the time of a NumericDate, 0 standing for an unset time.
func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// activeToken is the token an active answer with these members describes,
// aud split on newlines, and whether the client must read it back as it
// is: strings in UTF-8 (encoding/json writes other bytes as U+FFFD),
// well-formed scopes, dates a NumericDate takes, and exp, if set, not yet
// passed by the client's clock.
func activeToken(clientID, sub, scope, iss, jti, aud string, nbf, exp, iat int64) (domain.Token, bool) {
	scopes, err := domain.ParseScopes(scope)
	if err != nil {
		return domain.Token{}, false
	}
	tok := domain.Token{
		ID: jti, Issuer: iss, Subject: sub, ClientID: clientID, Scopes: scopes,
		Audience:  strings.Split(aud, "\n"),
		NotBefore: unixOrZero(nbf), ExpiresAt: unixOrZero(exp), IssuedAt: unixOrZero(iat),
	}
	for _, d := range []int64{nbf, exp, iat} {
		if d < 0 || d > 253402300799 {
			return domain.Token{}, false
		}
	}
	if exp != 0 && exp <= now.Unix() {
		return domain.Token{}, false
	}
	for _, s := range append([]string{clientID, sub, iss, jti}, tok.Audience...) {
		if !utf8.ValidString(s) {
			return domain.Token{}, false
		}
	}
	return tok, true
}

// checkRoundTrip serves the answer the authorization server writes for tok
// (the one definition, claims.AppendIntrospection) and checks the client
// reads tok back from it, as the opaque token it asked about.
func checkRoundTrip(t *testing.T, tok domain.Token) {
	t.Helper()
	answer := claims.AppendIntrospection(nil, application.Introspection{Active: true, Token: tok})
	got, err := introspect(http.StatusOK, answer)
	if err != nil {
		t.Fatalf("answer %s refused: %v", answer, err)
	}
	want := tok
	want.Value, want.Format = "opaque-token", domain.FormatOpaque
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("answer %s read as\n %+v\nwant\n %+v", answer, got, want)
	}
}

// FuzzIntrospectionRoundTrip checks that the resource role reads every
// member of the auth role's answer back as it was written, for any active
// token it must accept (see activeToken); aud is split on newlines.
func FuzzIntrospectionRoundTrip(f *testing.F) {
	nbf, exp := now.Add(-time.Minute).Unix(), now.Add(time.Hour).Unix()
	f.Add("user-client-opaque", "user-client-opaque", "country.read", "http://localhost:8085/ms-auth-server",
		"4df7aa1c-96be-4653-a7bd-fe34b5fcc51a", "user-client-opaque", nbf, exp, nbf)
	f.Add("", "", "", "", "", "", int64(0), int64(0), int64(0))
	f.Add("c<&>", "s\u2028", "b a a", "\x00", "é", "x\ny", int64(253402300799), int64(253402300799), int64(1))
	f.Fuzz(func(t *testing.T, clientID, sub, scope, iss, jti, aud string, nbf, exp, iat int64) {
		if tok, ok := activeToken(clientID, sub, scope, iss, jti, aud, nbf, exp, iat); ok {
			checkRoundTrip(t, tok)
		}
	})
}
