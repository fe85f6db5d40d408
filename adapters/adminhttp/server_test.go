package adminhttp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/adapters/adminhttp"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

const token = "0123456789abcdef0123456789abcdef-admin"

// ops is the admin operations over the real use cases and in-memory
// fakes, as bootstrap.Admin wires them over the database.
type ops struct {
	clients *fakes.Clients
	apply   *application.ApplyClient
	patch   *application.PatchClient
	del     *application.DeleteClient
	add     *application.AddClientSecret
	expire  *application.ExpireClientSecret
	revoke  *application.RevokeClientTokens
	keys    *fakes.Keys
	// The trusted issuers: https://file.example is the federation file's.
	issuers      *fakes.FederatedIssuers
	events       *fakes.Events
	applyIssuer  *application.ApplyFederatedIssuer
	deleteIssuer *application.DeleteFederatedIssuer
	listIssuers  *application.ListFederatedIssuers
}

func newOps() *ops {
	clock := fakes.NewClock(time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC))
	o := &ops{clients: fakes.NewClients(), keys: &fakes.Keys{}}
	events := &fakes.Events{}
	reg := application.NewRegisterClient(o.clients, fakes.Hasher{}, fakes.Box{})
	o.apply = application.NewApplyClient(reg, o.clients, events)
	o.patch = application.NewPatchClient(o.clients, reg, events)
	o.revoke = application.NewRevokeClientTokens(o.clients, &fakes.ClientRevocations{}, events, clock)
	o.del = application.NewDeleteClient(o.clients, o.revoke, events)
	o.add = application.NewAddClientSecret(o.clients, reg, strings.NewReader(strings.Repeat("r", 4096)), events)
	o.expire = application.NewExpireClientSecret(o.clients, clock, events)
	o.issuers, o.events = fakes.NewFederatedIssuers(), events
	rules := application.FederationRules{DefaultAudiences: []string{"https://sigil.example"}, Algorithms: []string{"ES256", "RS256"}}
	file, err := rules.Check(application.FederatedIssuerSpec{Issuer: "https://file.example", Clients: []application.FederationMapping{{Client: "a", Subject: "b"}}})
	if err != nil {
		panic(err)
	}
	fed := application.NewFederation([]application.FederatedIssuer{file}, &fakes.FederatedTokens{}, o.clients, nil, clock)
	fed.Manage(o.issuers, rules)
	o.applyIssuer = application.NewApplyFederatedIssuer(o.issuers, fed, events)
	o.deleteIssuer = application.NewDeleteFederatedIssuer(o.issuers, fed, events)
	o.listIssuers = application.NewListFederatedIssuers(o.issuers)
	return o
}

func (o *ops) ListFederatedIssuers(ctx context.Context) ([]application.FederatedIssuerSpec, error) {
	return o.listIssuers.Handle(ctx, application.ListFederatedIssuersInput{})
}
func (o *ops) GetFederatedIssuer(ctx context.Context, iss string) (application.FederatedIssuerSpec, error) {
	l, err := o.listIssuers.Handle(ctx, application.ListFederatedIssuersInput{Issuer: iss})
	if err != nil {
		return application.FederatedIssuerSpec{}, err
	}
	return l[0], nil
}
func (o *ops) ApplyFederatedIssuer(ctx context.Context, s application.FederatedIssuerSpec) (application.ApplyFederatedIssuerResult, error) {
	return o.applyIssuer.Handle(ctx, application.ApplyFederatedIssuerInput{Spec: s})
}
func (o *ops) DeleteFederatedIssuer(ctx context.Context, iss string) error {
	return o.deleteIssuer.Handle(ctx, iss)
}

func (o *ops) CreateClient(ctx context.Context, in application.RegisterClientInput) (domain.Client, error) {
	res, err := o.apply.Handle(ctx, application.ApplyClientInput{Registration: in, Create: true})
	return res.Client, err
}
func (o *ops) ApplyClient(ctx context.Context, in application.RegisterClientInput) (application.ApplyClientResult, error) {
	return o.apply.Handle(ctx, application.ApplyClientInput{Registration: in})
}
func (o *ops) GetClient(ctx context.Context, id string) (domain.Client, error) {
	c, err := o.clients.FindClient(ctx, id)
	return application.WithoutSecretMaterial(c), err
}
func (o *ops) ListClients(ctx context.Context) ([]domain.Client, error) {
	return o.clients.ListClients(ctx)
}
func (o *ops) PatchClient(ctx context.Context, id string, p application.ClientPatch) (domain.Client, error) {
	return o.patch.Handle(ctx, application.PatchClientInput{ID: id, Patch: p})
}
func (o *ops) DeleteClient(ctx context.Context, id string) error { return o.del.Handle(ctx, id) }
func (o *ops) AddSecret(ctx context.Context, id string, s application.SecretSpec) (application.AddedSecret, error) {
	return o.add.Handle(ctx, application.AddClientSecretInput{ClientID: id, Secret: s})
}
func (o *ops) ExpireSecret(ctx context.Context, id, secret string, at time.Time) (time.Time, error) {
	return o.expire.Handle(ctx, application.ExpireClientSecretInput{ClientID: id, SecretID: secret, At: at})
}
func (o *ops) RevokeClientTokens(ctx context.Context, id string) (time.Time, error) {
	return o.revoke.Handle(ctx, id)
}
func (o *ops) ListKeys(ctx context.Context) ([]domain.SigningKey, error) {
	return o.keys.ListSigningKeys(ctx)
}
func (o *ops) RotateKeys(context.Context) (application.RotateResult, error) {
	return application.RotateResult{Done: true, Published: "k2", Plan: domain.RotationPlan{Publish: true}}, nil
}
func (o *ops) RevokeKey(context.Context, string) (application.RevokeResult, error) {
	return application.RevokeResult{}, domain.ErrNotFound
}

var _ adminhttp.Operations = (*ops)(nil)

type answer struct {
	status int
	header http.Header
	body   string
}

func newServer(t *testing.T, tokenHash []byte) (*httptest.Server, *ops) {
	t.Helper()
	o := newOps()
	mux := http.NewServeMux()
	mux.Handle(adminhttp.Prefix+"/", adminhttp.New(o, adminhttp.Options{TokenSHA256: tokenHash}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, o
}

func call(t *testing.T, srv *httptest.Server, method, path, auth, body string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, string(b)}
}

func hashOf(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func wantProblem(t *testing.T, a answer, status int, code string) {
	t.Helper()
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	if a.status != status || a.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(a.body), &p) != nil ||
		p.Code != code || p.Status != status {
		t.Errorf("answer %d %s %s, want %d problem+json with code %s", a.status, a.header.Get("Content-Type"), a.body, status, code)
	}
}

func TestRefusedWithoutTheRightToken(t *testing.T) {
	srv, _ := newServer(t, hashOf(token))
	for _, c := range []struct {
		name, auth, challenge string
	}{
		{"none", "", `Bearer realm="sigil-admin"`},
		{"basic", "Basic YWRtaW46YWRtaW4=", `Bearer realm="sigil-admin"`},
		{"wrong", "Bearer " + token + "x", `Bearer realm="sigil-admin", error="invalid_token"`},
	} {
		for _, path := range []string{"/admin/v1/clients", "/admin/v1/keys", "/admin/v1/no-such-route"} {
			a := call(t, srv, http.MethodGet, path, c.auth, "")
			wantProblem(t, a, http.StatusUnauthorized, "unauthorized")
			if got := a.header.Get("WWW-Authenticate"); got != c.challenge {
				t.Errorf("%s %s: challenge %q, want %q", c.name, path, got, c.challenge)
			}
		}
	}
	if a := call(t, srv, http.MethodGet, "/admin/v1/clients", "bearer "+token, ""); a.status != http.StatusOK {
		t.Errorf("the right token (scheme in lower case): %d %s", a.status, a.body)
	}
	// The description holds no secret and is served to anyone.
	if a := call(t, srv, http.MethodGet, "/admin/v1/openapi.yaml", "", ""); a.status != http.StatusOK || !strings.HasPrefix(a.body, "openapi: 3.1") {
		t.Errorf("openapi.yaml: %d %.40s", a.status, a.body)
	}
}

func TestOffWithoutAToken(t *testing.T) {
	srv, _ := newServer(t, nil)
	wantProblem(t, call(t, srv, http.MethodGet, "/admin/v1/clients", "Bearer "+token, ""), http.StatusUnauthorized, "admin_api_off")
}

func TestClientLifecycle(t *testing.T) {
	srv, o := newServer(t, hashOf(token))
	auth := "Bearer " + token
	body := `{"id":"billing","token_format":"opaque","scopes":["country.read","customer.read"],"secrets":[{"id":"one","secret":"billing-secret-1"}]}`
	a := call(t, srv, http.MethodPost, "/admin/v1/clients", auth, body)
	if a.status != http.StatusCreated || a.header.Get("Location") != "/admin/v1/clients/billing" {
		t.Fatalf("create: %d %s %s", a.status, a.header.Get("Location"), a.body)
	}
	if strings.Contains(a.body, "billing-secret-1") || strings.Contains(a.body, "plain$") {
		t.Errorf("the answer holds secret material: %s", a.body)
	}
	var view struct {
		DefaultScopes []string `json:"default_scopes"`
		AuthMethods   []string `json:"auth_methods"`
		Secrets       []struct {
			ID string `json:"id"`
		} `json:"secrets"`
	}
	if err := json.Unmarshal([]byte(a.body), &view); err != nil || len(view.DefaultScopes) != 2 || len(view.AuthMethods) != 2 || view.Secrets[0].ID != "one" {
		t.Errorf("created client %s: want the clients file's defaults and the secret's id", a.body)
	}
	wantProblem(t, call(t, srv, http.MethodPost, "/admin/v1/clients", auth, body), http.StatusConflict, "conflict")
	wantProblem(t, call(t, srv, http.MethodPost, "/admin/v1/clients", auth, `{"id":"x","scope":["a"]}`), http.StatusBadRequest, "invalid_request")
	bad := call(t, srv, http.MethodPost, "/admin/v1/clients", auth, `{"id":"x","scopes":["a"],"default_scopes":["b"],"secrets":[{"id":"s","secret":"x"}]}`)
	wantProblem(t, bad, http.StatusUnprocessableEntity, "invalid_client_metadata")
	if !strings.Contains(bad.body, "default scopes must be among the allowed scopes") {
		t.Errorf("validation answer %s lacks the clients file's message", bad.body)
	}

	a = call(t, srv, http.MethodPatch, "/admin/v1/clients/billing", auth, `{"scopes":["country.read"],"introspect":true}`)
	if a.status != http.StatusOK || !strings.Contains(a.body, `"scopes":["country.read"]`) || !strings.Contains(a.body, `"introspect":true`) {
		t.Errorf("patch: %d %s", a.status, a.body)
	}
	wantProblem(t, call(t, srv, http.MethodPatch, "/admin/v1/clients/billing", auth, `{"secrets":[]}`), http.StatusUnprocessableEntity, "invalid_client_metadata")

	a = call(t, srv, http.MethodPost, "/admin/v1/clients/billing/secrets", auth, "")
	var added struct{ ID, Secret string }
	if a.status != http.StatusCreated || json.Unmarshal([]byte(a.body), &added) != nil || len(added.Secret) < 43 || a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("add a generated secret: %d %s %v", a.status, a.body, a.header)
	}
	a = call(t, srv, http.MethodPost, "/admin/v1/clients/billing/secrets/one/expire", auth, "")
	if a.status != http.StatusOK || !strings.Contains(a.body, `"expires_at":"2026-12-02T05:00:00Z"`) {
		t.Errorf("expire: %d %s", a.status, a.body)
	}
	stored, _ := o.clients.FindClient(t.Context(), "billing")
	if len(stored.Secrets) != 2 || stored.Secrets[0].ValidAt(time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("stored secrets after add and expire: %+v", stored.Secrets)
	}
	wantProblem(t, call(t, srv, http.MethodPost, "/admin/v1/clients/billing/secrets/nope/expire", auth, ""), http.StatusNotFound, "not_found")
	if a := call(t, srv, http.MethodPost, "/admin/v1/clients/billing/revoke-tokens", auth, ""); a.status != http.StatusOK || !strings.Contains(a.body, `"issued_before"`) {
		t.Errorf("revoke tokens: %d %s", a.status, a.body)
	}
	if a := call(t, srv, http.MethodDelete, "/admin/v1/clients/billing", auth, ""); a.status != http.StatusNoContent {
		t.Errorf("delete: %d %s", a.status, a.body)
	}
	wantProblem(t, call(t, srv, http.MethodGet, "/admin/v1/clients/billing", auth, ""), http.StatusNotFound, "not_found")
	wantProblem(t, call(t, srv, http.MethodPost, "/admin/v1/keys/k1/revoke", auth, ""), http.StatusNotFound, "not_found")
}

func TestReplaceCreatesOrReplaces(t *testing.T) {
	srv, _ := newServer(t, hashOf(token))
	auth := "Bearer " + token
	body := `{"scopes":["a"],"secrets":[{"id":"s","secret":"secret-1"}]}`
	if a := call(t, srv, http.MethodPut, "/admin/v1/clients/c1", auth, body); a.status != http.StatusCreated || !strings.Contains(a.body, `"id":"c1"`) {
		t.Errorf("PUT of a new client: %d %s", a.status, a.body)
	}
	if a := call(t, srv, http.MethodPut, "/admin/v1/clients/c1", auth, body); a.status != http.StatusOK {
		t.Errorf("PUT of an existing client: %d %s", a.status, a.body)
	}
	wantProblem(t, call(t, srv, http.MethodPut, "/admin/v1/clients/c1", auth, `{"id":"c2","scopes":["a"]}`), http.StatusUnprocessableEntity, "invalid_client_metadata")
}

// failingOps fails every listing with err.
type failingOps struct {
	*ops
	err error
}

func (f failingOps) ListClients(context.Context) ([]domain.Client, error) { return nil, f.err }

// An outage is 503 with Retry-After; anything else unknown is 500, and
// its text is logged, never sent.
func TestInternalErrorsDoNotLeak(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("list clients: %w", domain.ErrTemporarilyUnavailable), http.StatusServiceUnavailable, "temporarily_unavailable"},
		{errors.New("pq: relation sigil_clients does not exist at 10.0.0.5"), http.StatusInternalServerError, "server_error"},
	} {
		var logs bytes.Buffer
		mux := http.NewServeMux()
		mux.Handle(adminhttp.Prefix+"/", adminhttp.New(failingOps{newOps(), c.err}, adminhttp.Options{
			TokenSHA256: hashOf(token), Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		}))
		srv := httptest.NewServer(mux)
		a := call(t, srv, http.MethodGet, "/admin/v1/clients", "Bearer "+token, "")
		srv.Close()
		wantProblem(t, a, c.status, c.code)
		if strings.Contains(a.body, "10.0.0.5") || strings.Contains(a.body, "sigil_clients") {
			t.Errorf("the answer leaks the internal error: %s", a.body)
		}
		if c.status == http.StatusServiceUnavailable && a.header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		if c.status == http.StatusInternalServerError && !strings.Contains(logs.String(), "10.0.0.5") {
			t.Error("the internal error was not logged")
		}
	}
}
