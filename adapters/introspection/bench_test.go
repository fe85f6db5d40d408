package introspection_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/adapters/introspection"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// The benchmarks below measure the resource server's introspection of an
// opaque token that it has not cached (RFC 7662 §2.1): the request, the
// round trip and the decoding of the answer.
//
//	go test -run '^$' -bench . -benchmem ./adapters/introspection/

const benchToken = "gHqJ3cA1l2bYw0o8Kz9xXr6S4e7TnUvQ5iPmD2fLhNs"

// benchAnswer is an active token's answer as Sigil's introspection
// endpoint writes it (RFC 7662 §2.2), for the seed's opaque client.
var benchAnswer = claims.AppendIntrospection(nil, application.Introspection{Active: true, Token: domain.Token{
	ID: "4df7aa1c-96be-4653-a7bd-fe34b5fcc51a", Issuer: "http://localhost:8085/ms-auth-server",
	Subject: "user-client-opaque", ClientID: "user-client-opaque", Scopes: domain.NewScopes("country.read"),
	Audience: []string{"user-client-opaque"}, NotBefore: now.Add(-time.Minute), IssuedAt: now.Add(-time.Minute),
	ExpiresAt: now.Add(4 * time.Hour),
}})

// BenchmarkIntrospectToken measures one introspection two ways. Over
// loopback HTTP to an httptest.Server, as in production but on one
// machine; that figure includes the fake server's own work, since the
// allocation count is the process's. In process, through a RoundTripper
// that hands back the answer, which leaves the client's own share: the
// form, the request, the headers and the JSON decoding.
func BenchmarkIntrospectToken(b *testing.B) {
	b.Run("loopback", func(b *testing.B) {
		// Credentials are checked against what the client must send; a
		// request that differs gets 400, which fails the benchmark.
		wantAuth := basicHeader()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.Header.Get("Authorization") != wantAuth ||
				r.ParseForm() != nil || r.PostForm.Get("token") != benchToken {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			h.Set("Vary", "Accept")
			_, _ = w.Write(benchAnswer)
		}))
		b.Cleanup(srv.Close)
		benchmarkIntrospectToken(b, introspection.NewClient(srv.URL, clientID, clientSecret, srv.Client(), fakes.NewClock(now)))
	})
	b.Run("in-process", func(b *testing.B) {
		hc := &http.Client{Transport: answering{auth: basicHeader()}}
		benchmarkIntrospectToken(b, introspection.NewClient("http://auth.invalid/introspect", clientID, clientSecret, hc, fakes.NewClock(now)))
	})
}

func benchmarkIntrospectToken(b *testing.B, c *introspection.Client) {
	b.ReportAllocs()
	for b.Loop() {
		tok, err := c.IntrospectToken(b.Context(), benchToken)
		if err != nil {
			b.Fatal(err)
		}
		if tok.ClientID != "user-client-opaque" || !slices.Equal(tok.Scopes, domain.Scopes{"country.read"}) ||
			!tok.ExpiresAt.Equal(now.Add(4*time.Hour)) {
			b.Fatalf("IntrospectToken = %+v, want the active token of benchAnswer", tok)
		}
	}
}

// basicHeader is the Authorization header the client must send: the id
// and secret form-encoded, then joined and base64-encoded (RFC 6749
// §2.3.1).
func basicHeader() string {
	pair := url.QueryEscape(clientID) + ":" + url.QueryEscape(clientSecret)
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(pair))
}

// answering is a RoundTripper that answers a request carrying auth with
// benchAnswer, and any other with 400, without a network or a server.
type answering struct{ auth string }

func (a answering) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	status := http.StatusOK
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != a.auth {
		status = http.StatusBadRequest
	}
	return &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(benchAnswer)),
		Request:    r,
	}, nil
}
