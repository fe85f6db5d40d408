// Package adminclient is a Go client of Sigil's admin API (adminhttp), over
// net/http. Its methods are bootstrap.Admin's, with the same types, so the
// CLI can run its `clients` and `keys` commands against a running node
// (--admin-url) with the code that runs them against the database. Errors
// come back as the domain's: domain.ErrNotFound, domain.ErrConflict,
// domain.ErrInvalidClientMetadata with the server's message,
// domain.ErrTemporarilyUnavailable; a refused token is ErrUnauthorized.
package adminclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sigilauth/sigil/adapters/internal/adminwire"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// ErrUnauthorized is a request the server refused for its admin token:
// missing, wrong, or none configured on the server.
var ErrUnauthorized = errors.New("admin API refused the token")

// Client calls the admin API at a base URL such as
// http://127.0.0.1:8095.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client of the API at baseURL (the management listener's
// URL, with or without /admin/v1) authenticating with token. A nil hc
// uses a client with a 30 s timeout.
func New(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	base := strings.TrimSuffix(strings.TrimSuffix(baseURL, "/"), "/admin/v1")
	return &Client{base: base + "/admin/v1", token: token, http: hc}
}

// CreateClient registers a new client; an id in use gives
// domain.ErrConflict.
func (c *Client) CreateClient(ctx context.Context, in application.RegisterClientInput) (domain.Client, error) {
	var v adminwire.ClientView
	if _, err := c.do(ctx, http.MethodPost, "/clients", "application/json", adminwire.FromRegistration(in), &v); err != nil {
		return domain.Client{}, err
	}
	return v.ToDomain()
}

// ApplyClient creates or replaces a client.
func (c *Client) ApplyClient(ctx context.Context, in application.RegisterClientInput) (application.ApplyClientResult, error) {
	var v adminwire.ClientView
	status, err := c.do(ctx, http.MethodPut, "/clients/"+url.PathEscape(in.Client.ID), "application/json", adminwire.FromRegistration(in), &v)
	if err != nil {
		return application.ApplyClientResult{}, err
	}
	cl, err := v.ToDomain()
	return application.ApplyClientResult{Created: status == http.StatusCreated, Client: cl}, err
}

// GetClient returns a client, its secrets by id and expiry only.
func (c *Client) GetClient(ctx context.Context, id string) (domain.Client, error) {
	var v adminwire.ClientView
	if _, err := c.do(ctx, http.MethodGet, "/clients/"+url.PathEscape(id), "", nil, &v); err != nil {
		return domain.Client{}, err
	}
	return v.ToDomain()
}

// ListClients returns every client, ordered by id.
func (c *Client) ListClients(ctx context.Context) ([]domain.Client, error) {
	var l adminwire.ClientList
	if _, err := c.do(ctx, http.MethodGet, "/clients", "", nil, &l); err != nil {
		return nil, err
	}
	out := make([]domain.Client, 0, len(l.Clients))
	for _, v := range l.Clients {
		cl, err := v.ToDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, cl)
	}
	return out, nil
}

// PatchClient changes some fields of a client (a JSON merge patch).
func (c *Client) PatchClient(ctx context.Context, id string, p application.ClientPatch) (domain.Client, error) {
	body, err := adminwire.EncodePatch(p)
	if err != nil {
		return domain.Client{}, err
	}
	var v adminwire.ClientView
	if _, err := c.do(ctx, http.MethodPatch, "/clients/"+url.PathEscape(id), "application/merge-patch+json", json.RawMessage(body), &v); err != nil {
		return domain.Client{}, err
	}
	return v.ToDomain()
}

// DeleteClient deletes a client and revokes its tokens.
func (c *Client) DeleteClient(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/clients/"+url.PathEscape(id), "", nil, nil)
	return err
}

// AddSecret adds a secret; an empty s.Secret has the server make one,
// returned once in the result.
func (c *Client) AddSecret(ctx context.Context, clientID string, s application.SecretSpec) (application.AddedSecret, error) {
	var w adminwire.Secret
	in := adminwire.Secret{ID: s.ID, Secret: s.Secret, ExpiresAt: adminwire.FormatTime(s.ExpiresAt)}
	if _, err := c.do(ctx, http.MethodPost, "/clients/"+url.PathEscape(clientID)+"/secrets", "application/json", in, &w); err != nil {
		return application.AddedSecret{}, err
	}
	exp, err := adminwire.ParseTime(w.ExpiresAt)
	return application.AddedSecret{ID: w.ID, Secret: w.Secret, ExpiresAt: exp}, err
}

// ExpireSecret ends a secret's validity at at, or now for zero, and
// returns when it ends.
func (c *Client) ExpireSecret(ctx context.Context, clientID, secretID string, at time.Time) (time.Time, error) {
	var w adminwire.Expiry
	path := "/clients/" + url.PathEscape(clientID) + "/secrets/" + url.PathEscape(secretID) + "/expire"
	if _, err := c.do(ctx, http.MethodPost, path, "application/json", adminwire.Expiry{At: adminwire.FormatTime(at)}, &w); err != nil {
		return time.Time{}, err
	}
	return adminwire.ParseTime(w.ExpiresAt)
}

// RevokeClientTokens revokes every token of a client and returns the
// revocation time.
func (c *Client) RevokeClientTokens(ctx context.Context, clientID string) (time.Time, error) {
	var w adminwire.TokensRevoked
	if _, err := c.do(ctx, http.MethodPost, "/clients/"+url.PathEscape(clientID)+"/revoke-tokens", "", nil, &w); err != nil {
		return time.Time{}, err
	}
	return adminwire.ParseTime(w.IssuedBefore)
}

// ListKeys returns the signing keys, oldest first, without key material.
func (c *Client) ListKeys(ctx context.Context) ([]domain.SigningKey, error) {
	var l adminwire.KeyList
	if _, err := c.do(ctx, http.MethodGet, "/keys", "", nil, &l); err != nil {
		return nil, err
	}
	out := make([]domain.SigningKey, 0, len(l.Keys))
	for _, k := range l.Keys {
		dk, err := k.ToDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, dk)
	}
	return out, nil
}

// RotateKeys starts a rotation now.
func (c *Client) RotateKeys(ctx context.Context) (application.RotateResult, error) {
	var w adminwire.Rotation
	if _, err := c.do(ctx, http.MethodPost, "/keys/rotate", "", nil, &w); err != nil {
		return application.RotateResult{}, err
	}
	return w.ToDomain(), nil
}

// RevokeKey removes a signing key at once; an unknown kid gives
// domain.ErrNotFound.
func (c *Client) RevokeKey(ctx context.Context, kid string) (application.RevokeResult, error) {
	var w adminwire.KeyRevocation
	if _, err := c.do(ctx, http.MethodPost, "/keys/"+url.PathEscape(kid)+"/revoke", "", nil, &w); err != nil {
		return application.RevokeResult{}, err
	}
	return w.ToDomain(), nil
}

// maxAnswerBytes bounds what is read of an answer: a list of ten thousand
// clients is a few megabytes.
const maxAnswerBytes = 64 << 20

// do sends body (as JSON, unless nil) and decodes a 2xx answer into out
// (unless nil); any other answer becomes an error.
func (c *Client) do(ctx context.Context, method, path, contentType string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("admin API: encode request: %w", err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, fmt.Errorf("admin API: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("admin API: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswerBytes))
	if err != nil {
		return res.StatusCode, fmt.Errorf("admin API: read answer: %w", err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, problemError(res.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, fmt.Errorf("admin API: answer %s: %w", method+" "+path, err)
		}
	}
	return res.StatusCode, nil
}

// problemError turns an error answer into the domain's error it stands for.
func problemError(status int, raw []byte) error {
	var p adminwire.Problem
	_ = json.Unmarshal(raw, &p)
	detail := p.Detail
	if detail == "" {
		detail = http.StatusText(status)
	}
	switch {
	case status == http.StatusUnauthorized:
		return fmt.Errorf("%w: %s", ErrUnauthorized, detail)
	case status == http.StatusNotFound:
		return fmt.Errorf("%s: %w", detail, domain.ErrNotFound)
	case status == http.StatusConflict:
		return fmt.Errorf("%s: %w", detail, domain.ErrConflict)
	case status == http.StatusServiceUnavailable:
		return fmt.Errorf("admin API: %s: %w", detail, domain.ErrTemporarilyUnavailable)
	case p.Code == "invalid_federated_issuer":
		return &application.FederationEntryError{Reason: detail}
	case p.Code == string(domain.CodeInvalidClientMetadata):
		return domain.ErrInvalidClientMetadata.With(detail)
	case p.Code == string(domain.CodeInvalidRequest):
		return domain.ErrInvalidRequest.With(detail)
	}
	return fmt.Errorf("admin API: %d %s", status, detail)
}

// ListFederatedIssuers returns the trust relationships the API manages,
// ordered by issuer.
func (c *Client) ListFederatedIssuers(ctx context.Context) ([]application.FederatedIssuerSpec, error) {
	var l adminwire.FederatedIssuerList
	if _, err := c.do(ctx, http.MethodGet, "/federation/issuers", "", nil, &l); err != nil {
		return nil, err
	}
	out := make([]application.FederatedIssuerSpec, 0, len(l.Issuers))
	for _, w := range l.Issuers {
		s, err := w.ToSpec()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// GetFederatedIssuer returns the entry of iss; domain.ErrNotFound when
// the API manages none.
func (c *Client) GetFederatedIssuer(ctx context.Context, iss string) (application.FederatedIssuerSpec, error) {
	var w adminwire.FederatedIssuer
	if _, err := c.do(ctx, http.MethodGet, "/federation/issuers/"+url.PathEscape(iss), "", nil, &w); err != nil {
		return application.FederatedIssuerSpec{}, err
	}
	return w.ToSpec()
}

// ApplyFederatedIssuer creates or replaces the entry of s.Issuer.
func (c *Client) ApplyFederatedIssuer(ctx context.Context, s application.FederatedIssuerSpec) (application.ApplyFederatedIssuerResult, error) {
	var w adminwire.FederatedIssuer
	status, err := c.do(ctx, http.MethodPut, "/federation/issuers/"+url.PathEscape(s.Issuer), "application/json", adminwire.FederatedIssuerOf(s), &w)
	if err != nil {
		return application.ApplyFederatedIssuerResult{}, err
	}
	spec, err := w.ToSpec()
	return application.ApplyFederatedIssuerResult{Created: status == http.StatusCreated, Spec: spec}, err
}

// DeleteFederatedIssuer removes the entry of iss.
func (c *Client) DeleteFederatedIssuer(ctx context.Context, iss string) error {
	_, err := c.do(ctx, http.MethodDelete, "/federation/issuers/"+url.PathEscape(iss), "", nil, nil)
	return err
}
