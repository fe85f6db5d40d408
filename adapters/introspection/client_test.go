package introspection_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/adapters/internal/requestid"
	"github.com/sigilauth/sigil/adapters/introspection"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// Credentials with characters RFC 6749 §2.3.1 makes us form-encode.
const (
	clientID     = "resource:server%1"
	clientSecret = "s3cr:et%25 +&é"
)

var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// server is an introspection endpoint that checks the request the way an
// authorization server would and answers by token value.
type server struct {
	*httptest.Server
	conns atomic.Int64
	// requestID is the X-Request-Id of the last request.
	requestID atomic.Value
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requestID.Store(r.Header.Get("X-Request-Id"))
		if r.Method != http.MethodPost {
			t.Errorf("method = %s, want POST", r.Method)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("content type = %q", ct)
		}
		// Decode Basic as RFC 6749 §2.3.1 says: split on the first colon,
		// then form-decode each half.
		raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Basic ")
		pair, _ := base64.StdEncoding.DecodeString(raw)
		encID, encSecret, _ := strings.Cut(string(pair), ":")
		id, _ := url.QueryUnescape(encID)
		secret, _ := url.QueryUnescape(encSecret)
		if id != clientID || secret != clientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse form: %v", err)
		}
		if r.PostForm.Get("token_type_hint") != "access_token" {
			t.Errorf("token_type_hint = %q", r.PostForm.Get("token_type_hint"))
		}
		answer(t, w, r.PostForm.Get("token"))
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// sigilToken is the token behind the "active" answer: Sigil's own answer
// for it, as the auth role writes it, is the base the other answers vary.
var sigilToken = domain.Token{
	ID:        "4df7aa1c-96be-4653-a7bd-fe34b5fcc51a",
	Issuer:    "http://localhost:8085/ms-auth-server",
	Subject:   "user-client-opaque",
	ClientID:  "user-client-opaque",
	Scopes:    domain.Scopes{"country.read", "customer.read"},
	Audience:  []string{"user-client-opaque", "ms-system"},
	IssuedAt:  now.Add(-time.Minute),
	NotBefore: now.Add(-time.Minute),
	ExpiresAt: now.Add(time.Hour),
}

func answer(t *testing.T, w http.ResponseWriter, token string) {
	var active map[string]any
	if err := json.Unmarshal(claims.AppendIntrospection(nil, application.Introspection{Active: true, Token: sigilToken}), &active); err != nil {
		t.Errorf("Sigil's answer does not decode: %v", err) // not Fatal: this is the server's goroutine
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var body any
	switch token {
	case "active":
		body = active
	case "aud-string":
		active["aud"] = "ms-system"
		body = active
	case "no-exp":
		delete(active, "exp")
		body = active
	case "expired":
		active["exp"] = now.Add(-time.Second).Unix()
		body = active
	case "expiring-now":
		active["exp"] = now.Unix()
		body = active
	case "bad-scope":
		active["scope"] = `country"read`
		body = active
	case "inactive":
		body = map[string]any{"active": false}
	case "no-active":
		body = map[string]any{"scope": "country.read"}
	case "active-string":
		body = map[string]any{"active": "true"}
	case "server-error":
		w.WriteHeader(http.StatusInternalServerError)
		return
	case "forbidden":
		w.WriteHeader(http.StatusForbidden)
		return
	case "garbage":
		_, _ = w.Write([]byte("<html>oops</html>"))
		return
	case "trailing":
		_, _ = w.Write([]byte(`{"active":true}{"active":false}`))
		return
	case "huge":
		_, _ = w.Write([]byte(`{"active":false,"pad":"` + strings.Repeat("a", 128<<10) + `"}`))
		return
	default:
		t.Errorf("unexpected token %q", token)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func newClient(s *server, secret string) *introspection.Client {
	return introspection.NewClient(s.URL, clientID, secret, s.Client(), fakes.NewClock(now))
}

func TestActiveTokenMapsToDomainToken(t *testing.T) {
	s := newServer(t)
	got, err := newClient(s, clientSecret).IntrospectToken(context.Background(), "active")
	if err != nil {
		t.Fatalf("introspect: %v", err)
	}
	want := sigilToken
	want.Value, want.Format = "active", domain.FormatOpaque
	if got.Value != want.Value || got.Format != want.Format || got.ID != want.ID || got.Issuer != want.Issuer ||
		got.Subject != want.Subject || got.ClientID != want.ClientID || !slices.Equal(got.Scopes, want.Scopes) ||
		!slices.Equal(got.Audience, want.Audience) || !got.IssuedAt.Equal(want.IssuedAt) ||
		!got.NotBefore.Equal(want.NotBefore) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("token:\n got  %+v\n want %+v", got, want)
	}
}

func TestAudienceMayBeAString(t *testing.T) {
	got, err := newClient(newServer(t), clientSecret).IntrospectToken(context.Background(), "aud-string")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Audience, []string{"ms-system"}) {
		t.Errorf("audience = %v", got.Audience)
	}
}

func TestActiveTokenWithoutExpIsAccepted(t *testing.T) {
	got, err := newClient(newServer(t), clientSecret).IntrospectToken(context.Background(), "no-exp")
	if err != nil {
		t.Fatalf("introspect: %v", err)
	}
	if !got.ExpiresAt.IsZero() {
		t.Errorf("expires at = %v, want zero", got.ExpiresAt)
	}
}

func TestInactiveAndExpiredTokensAreInvalid(t *testing.T) {
	c := newClient(newServer(t), clientSecret)
	for token, reason := range map[string]string{
		"inactive":     "token is not active",
		"expired":      "token has expired",
		"expiring-now": "token has expired",
		"bad-scope":    "token carries a malformed scope",
	} {
		_, err := c.IntrospectToken(context.Background(), token)
		var e *domain.Error
		if !errors.Is(err, domain.ErrInvalidToken) || !errors.As(err, &e) || e.Description != reason {
			t.Errorf("%s: err = %v, want invalid_token %q", token, err, reason)
		}
	}
}

func TestServerTroubleIsTemporarilyUnavailable(t *testing.T) {
	s := newServer(t)
	good := newClient(s, clientSecret)
	cases := map[string]struct {
		c     *introspection.Client
		token string
	}{
		"our credentials refused (401)": {newClient(s, "wrong-secret"), "active"},
		"our credentials refused (403)": {good, "forbidden"},
		"500":                           {good, "server-error"},
		"garbage":                       {good, "garbage"},
		"no active member":              {good, "no-active"},
		"active not a boolean":          {good, "active-string"},
		"trailing data":                 {good, "trailing"},
		"oversized":                     {good, "huge"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := tc.c.IntrospectToken(context.Background(), tc.token)
			assertUnavailable(t, err, tc.token)
		})
	}
}

func TestUnreachableServerIsTemporarilyUnavailable(t *testing.T) {
	s := newServer(t)
	c := newClient(s, clientSecret)
	s.Close()
	_, err := c.IntrospectToken(context.Background(), "active")
	assertUnavailable(t, err, "active")
}

func assertUnavailable(t *testing.T, err error, token string) {
	t.Helper()
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) || errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("err = %v, want temporarily unavailable", err)
	}
	msg := err.Error()
	for _, secret := range []string{clientSecret, url.QueryEscape(clientSecret), "wrong-secret", "token=" + token} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q leaks %q", msg, secret)
		}
	}
	if len(msg) > 200 {
		t.Errorf("error message is %d bytes long: %q", len(msg), msg)
	}
}

func TestConnectionsAreReused(t *testing.T) {
	s := newServer(t)
	c := newClient(s, clientSecret)
	for _, token := range []string{"active", "inactive", "active", "server-error", "active"} {
		_, _ = c.IntrospectToken(context.Background(), token)
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("opened %d connections for 5 calls, want 1", n)
	}
}

// TestRequestIDIsPassedOn: the resource request's id goes with its
// introspection call, so both servers' logs name the same request.
func TestRequestIDIsPassedOn(t *testing.T) {
	s := newServer(t)
	c := newClient(s, clientSecret)
	if _, err := c.IntrospectToken(requestid.With(context.Background(), "req-7f3a"), "active"); err != nil {
		t.Fatal(err)
	}
	if got := s.requestID.Load(); got != "req-7f3a" {
		t.Errorf("X-Request-Id = %q, want req-7f3a", got)
	}
	if _, err := c.IntrospectToken(context.Background(), "active"); err != nil {
		t.Fatal(err)
	}
	if got := s.requestID.Load(); got != "" {
		t.Errorf("X-Request-Id = %q without a request id in the context, want none", got)
	}
}
