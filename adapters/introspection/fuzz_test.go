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

	"github.com/sigilauth/sigil/adapters/introspection"
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
// error; an answer marshalled from any claims reads back as those claims.
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

		// The other direction: an answer made from these claims.
		scopes, scopeErr := domain.ParseScopes(scope)
		// encoding/json writes invalid UTF-8 as U+FFFD: such strings cannot
		// come back as they were.
		if exp <= now.Unix() || exp > 253402300799 || scopeErr != nil ||
			!utf8.ValidString(clientID) || !utf8.ValidString(sub) || !utf8.ValidString(aud) {
			return
		}
		auds := strings.Split(aud, "\n")
		answer, err := json.Marshal(map[string]any{
			"active": true, "client_id": clientID, "sub": sub, "scope": scope, "exp": exp, "aud": auds,
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err = introspect(http.StatusOK, answer)
		if err != nil {
			t.Fatalf("answer %s refused: %v", answer, err)
		}
		if got.ClientID != clientID || got.Subject != sub || !slices.Equal(got.Scopes, scopes) ||
			got.ExpiresAt.Unix() != exp || !slices.Equal(got.Audience, auds) {
			t.Fatalf("answer %s read as %+v", answer, got)
		}
	})
}
