// Package introspection asks an authorization server about opaque access
// tokens over OAuth 2.0 Token Introspection (RFC 7662), for a resource
// server.
package introspection

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/adapters/internal/requestid"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

const (
	// maxResponseBytes bounds the introspection response; a real one is
	// a few hundred bytes.
	maxResponseBytes = 64 << 10
	// defaultTimeout is used when no http.Client is given.
	defaultTimeout = 10 * time.Second
)

// Client calls an introspection endpoint, authenticating as a client of
// the authorization server.
type Client struct {
	endpoint string
	// auth is the precomputed Authorization header value.
	auth  string
	http  *http.Client
	clock application.Clock
	// clientID names who the calls authenticate as, for a reporter;
	// reporter, when set, hears of each call made for a watched request.
	clientID string
	reporter application.UpstreamReporter
}

var _ application.TokenIntrospector = (*Client)(nil)

// NewClient returns a Client for endpoint that authenticates with HTTP
// Basic as clientID and clientSecret. httpClient is shared by every call so
// connections are kept alive; nil gives a client with a 10s timeout. clock
// decides whether a token the server calls active has in fact expired
// (the system clock if nil).
func NewClient(endpoint, clientID, clientSecret string, httpClient *http.Client, clock application.Clock) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: defaultTimeout}
	}
	if clock == nil {
		clock = application.SystemClock{}
	}
	return &Client{
		endpoint: endpoint,
		auth:     basicAuth(clientID, clientSecret),
		http:     httpClient,
		clock:    clock,
		clientID: clientID,
	}
}

// ReportTo has each call made for a watched request reported to r (the
// playground), its credentials and the token left out.
func (c *Client) ReportTo(r application.UpstreamReporter) { c.reporter = r }

// basicAuth builds the Basic credentials of RFC 6749 §2.3.1: client id and
// secret are each form-urlencoded (Appendix B) before being joined with a
// colon and base64-encoded, so a ':' in the id cannot shift the split.
// http.Request.SetBasicAuth skips that encoding.
func basicAuth(clientID, clientSecret string) string {
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	return req.Header.Get("Authorization")
}

// IntrospectToken asks the authorization server about raw (RFC 7662 §2.1).
// An inactive or expired token is invalid_token; a server that cannot be
// reached or answers anything but a well-formed 200 is an error matching
// domain.ErrTemporarilyUnavailable.
func (c *Client) IntrospectToken(ctx context.Context, raw string) (domain.Token, error) {
	if c.reporter == nil || !c.reporter.Watched(ctx) {
		return c.introspect(ctx, raw, nil)
	}
	call := application.UpstreamCall{Kind: "introspection", Method: http.MethodPost, URL: c.endpoint,
		RequestHeaders: map[string]string{
			"Content-Type":  "application/x-www-form-urlencoded",
			"Accept":        "application/json",
			"Authorization": "Basic (credentials of " + c.clientID + ")",
		},
		RequestBody: "token=<token>&token_type_hint=access_token",
		Started:     time.Now()}
	t, err := c.introspect(ctx, raw, &call)
	call.Duration = time.Since(call.Started)
	if call.Status == 0 && err != nil {
		call.Error = "no answer"
	}
	c.reporter.Report(ctx, call)
	return t, err
}

// introspect makes the call; with call set, it records the answer there.
func (c *Client) introspect(ctx context.Context, raw string, call *application.UpstreamCall) (domain.Token, error) {
	form := url.Values{"token": {raw}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return domain.Token{}, fmt.Errorf("build introspection request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", c.auth)
	// The resource request's id, so the authorization server's log names
	// the request this introspection was made for.
	if id := requestid.From(ctx); id != "" {
		req.Header.Set(requestid.Header, id)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error names the endpoint, never the body: the token and
		// the credentials stay out of the message.
		return domain.Token{}, unavailable("call introspection endpoint", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if call != nil {
		call.Status, call.ResponseBody = resp.StatusCode, string(body)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		// Our own credentials were refused: no token can be checked until
		// an operator fixes them.
		return domain.Token{}, unavailable("introspection endpoint refused our client credentials (status "+strconv.Itoa(resp.StatusCode)+")", nil)
	case resp.StatusCode != http.StatusOK:
		return domain.Token{}, unavailable("introspection endpoint answered status "+strconv.Itoa(resp.StatusCode), nil)
	case err != nil:
		return domain.Token{}, unavailable("read introspection response", err)
	case len(body) > maxResponseBytes:
		return domain.Token{}, unavailable("introspection response too large", nil)
	}

	// Read as Sigil's own answers are defined; nil Active is an answer
	// without active, malformed.
	var r claims.Introspection
	if err := json.Unmarshal(body, &r); err != nil || r.Active == nil {
		return domain.Token{}, unavailable("malformed introspection response", nil)
	}
	if !*r.Active {
		return domain.Token{}, domain.ErrInvalidToken.With("token is not active")
	}
	exp := r.ExpiresAt.Time()
	// The server said active, but if its answer says the token expired by
	// our clock, trust the stricter reading. exp is optional (§2.2).
	if !exp.IsZero() && !c.clock.Now().Before(exp) {
		return domain.Token{}, domain.ErrInvalidToken.With("token has expired")
	}
	scopes, err := domain.ParseScopes(string(r.Scope))
	if err != nil {
		return domain.Token{}, domain.ErrInvalidToken.With("token carries a malformed scope")
	}
	act, err := r.Act.ToDomain()
	if err != nil {
		return domain.Token{}, domain.ErrInvalidToken.With("token carries a malformed act")
	}
	return domain.Token{
		Value:     raw,
		Format:    domain.FormatOpaque,
		ID:        r.ID,
		Issuer:    r.Issuer,
		Subject:   r.Subject,
		ClientID:  r.ClientID,
		Scopes:    scopes,
		Audience:  []string(r.Audience),
		IssuedAt:  r.IssuedAt.Time(),
		NotBefore: r.NotBefore.Time(),
		ExpiresAt: exp,
		JKT:       r.Cnf.Thumbprint(),
		X5T:       r.Cnf.CertificateThumbprint(),
		Actor:     act,
	}, nil
}

// unavailable says the token could not be checked. Messages name the
// endpoint's status or the transport error, never the token or secret.
func unavailable(reason string, err error) error {
	if err != nil {
		return fmt.Errorf("introspect token: %w: %s: %w", domain.ErrTemporarilyUnavailable, reason, err)
	}
	return fmt.Errorf("introspect token: %w: %s", domain.ErrTemporarilyUnavailable, reason)
}
