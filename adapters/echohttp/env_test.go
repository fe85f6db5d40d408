package echohttp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/adapters/echohttp"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
	"github.com/sigilauth/sigil/test/testenv"
)

// The seed documents' servers, clients and secrets.
const (
	authBase     = "/ms-auth-server"
	resourceBase = "/ms-system"
	issuer       = "http://localhost:8085/ms-auth-server"

	jwtClient    = "service-client-jwt"
	jwtSecret    = "service-client-jwt-secret"
	opaqueClient = "user-client-opaque"
	opaqueSecret = "user-client-secret"
	seedScope    = "country.read customer.read customer.write"

	tokenPath      = authBase + echohttp.TokenPath
	introspectPath = authBase + echohttp.IntrospectionPath
	revokePath     = authBase + echohttp.RevocationPath
	jwksPath       = authBase + echohttp.JWKSPath
	countryPath    = resourceBase + "/country"

	// The metadata document's two locations (RFC 8414 §3.1 and the form
	// appended to the issuer).
	metadataRootPath = echohttp.MetadataPath + authBase
	metadataBasePath = authBase + echohttp.MetadataPath
)

// Clients beyond the demo ones: one whose id and secret need
// form-urlencoding inside Basic, one that may use no grant type.
const (
	oddClient      = "odd:client id"
	oddSecret      = "p@ss word+1%"
	noGrantClient  = "no-grant-client"
	noGrantSecret  = "no-grant-secret"
	jwksMaxAge     = 5 * time.Minute
	demoLifetimeS  = 4 * 60 * 60
	defaultMaxBody = 64 << 10
)

// Clients that authenticate with JWT assertions (RFC 7523): one with a
// key (private_key_jwt), issued opaque tokens, and one with a shared
// secret (client_secret_jwt), issued JWTs. Both may introspect.
const (
	keyClient    = "key-client"
	keyKid       = "key-client-kid-1"
	hmacClient   = "hmac-client"
	hmacSecret   = "hmac-client-shared-secret"
	assertionTTL = 5 * time.Minute
)

// A client that may ask tokens for two resources (RFC 8707).
const (
	resourceClient = "resource-client"
	resourceSecret = "resource-client-secret"
	resourceA      = "https://api.example.com/a"
	resourceB      = "https://api.example.com/b"
)

// secretText is what failing fakes put in their errors: it stands for a
// DSN or key that must reach the log and never a response.
const secretText = "dsn=postgres://sigil:S3CR3T-hunter2@db"

var start = time.Date(2023, 4, 29, 1, 23, 35, 0, time.UTC)

var countries = []domain.Country{
	{Alpha3: "AUS", Alpha2: "AU", Name: "AUSTRALIA"},
	{Alpha3: "AUT", Alpha2: "AT", Name: "AUSTRIA"},
	{Alpha3: "BEL", Alpha2: "BE", Name: "BELGIUM"},
	{Alpha3: "FRA", Alpha2: "FR", Name: "FRANCE"},
	{Alpha3: "NZL", Alpha2: "NZ", Name: "NEW ZEALAND"},
}

// deps are the ports a test may replace before the servers are built.
type deps struct {
	tokens       application.TokenStore
	verifier     application.AccessTokenVerifier // the resource server's
	introspector application.TokenIntrospector
	countries    application.CountryFinder
	ready        func(context.Context) error
	maxBody      int64
	// authBase is the authorization server's base path.
	authBase string
	// audience is the resource server's identifier; empty skips the
	// audience check.
	audience string
	// metadata is the static part of the server metadata.
	metadata application.ServerMetadata
	// logLevel is the servers' log level; tests read the debug lines.
	logLevel slog.Level
	// failureLimit, if set, turns on the failure throttle: that many
	// failed authentications a minute per client id or address.
	failureLimit int
	// trustedProxies are the networks whose X-Forwarded-For is believed.
	trustedProxies []netip.Prefix
	// metrics, when set, counts both servers' requests.
	metrics *echohttp.HTTPMetrics
	// dpop turns DPoP on at both servers (see dpopDeps).
	dpop *dpopDeps
	// tracing, when set, reports both servers' requests as spans.
	tracing *echohttp.Tracing
	// resourceMetadata, when set, is the resource server's RFC 9728
	// metadata.
	resourceMetadata *echohttp.ResourceMetadata
}

// env is both servers built from the real use cases over fakes, sharing
// one token store and key ring as the seed's two processes share an
// authorization server.
type env struct {
	t        testing.TB
	clock    *fakes.Clock
	auth     *echo.Echo
	resource *echo.Echo
	logs     *syncBuffer
}

func newEnv(t testing.TB, tweaks ...func(*deps)) *env {
	t.Helper()
	ctx := context.Background()
	clock := fakes.NewClock(start)
	store := fakes.NewTokens(clock)

	clients := fakes.NewClients()
	if _, err := application.NewSeedDemoClients(clients, fakes.Hasher{}).Handle(ctx); err != nil {
		t.Fatal(err)
	}
	both := []domain.AuthMethod{domain.AuthClientSecretBasic, domain.AuthClientSecretPost}
	cc := []domain.GrantType{domain.GrantClientCredentials}
	secret := func(s string) []domain.ClientSecret { return []domain.ClientSecret{{ID: "s1", Hash: "plain$" + s}} }
	for _, c := range []domain.Client{
		{
			ID: oddClient, Secrets: secret(oddSecret), AuthMethods: both, GrantTypes: cc,
			AllowedScopes: domain.NewScopes("country.read"), TokenFormat: domain.FormatOpaque,
		},
		{
			ID: noGrantClient, Secrets: secret(noGrantSecret), AuthMethods: both,
			AllowedScopes: domain.NewScopes("country.read"), TokenFormat: domain.FormatOpaque,
		},
		{
			ID: resourceClient, Secrets: secret(resourceSecret), AuthMethods: both, GrantTypes: cc,
			Resources:     []string{resourceA, resourceB},
			AllowedScopes: domain.NewScopes("country.read"), TokenFormat: domain.FormatJWT,
		},
		{
			ID: keyClient, AuthMethods: []domain.AuthMethod{domain.AuthPrivateKeyJWT}, GrantTypes: cc,
			JWKS:          `{"keys":[{"kid":"` + keyKid + `"}]}`,
			AllowedScopes: domain.NewScopes("country.read"), TokenFormat: domain.FormatOpaque, CanIntrospect: true,
		},
		{
			ID: hmacClient, AuthMethods: []domain.AuthMethod{domain.AuthClientSecretJWT}, GrantTypes: cc,
			Secrets:       []domain.ClientSecret{{ID: "s1", Hash: "plain$" + hmacSecret, Sealed: []byte("sealed:" + hmacSecret)}},
			AllowedScopes: domain.NewScopes("country.read"), TokenFormat: domain.FormatJWT, CanIntrospect: true,
		},
	} {
		if err := clients.SaveClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	ring := &application.KeyRing{}
	policy := domain.RotationPolicy{Algorithm: domain.RS256, PublishLead: time.Minute, RetireFor: time.Hour}
	rotate := application.NewRotateSigningKeys(&fakes.Keys{}, &fakes.KeyGenerator{}, ring, &fakes.Locker{}, &fakes.Events{}, clock, policy)
	if _, err := rotate.Handle(ctx, application.RotateInput{}); err != nil {
		t.Fatal(err)
	}
	// One node without Redis: revocations reach the resource in process.
	revoked := application.NewRevocationSet(clock)
	verifier := fakes.Verifier{Keys: ring, Clock: clock}
	d := deps{
		tokens:       store,
		verifier:     verifier,
		introspector: fakes.Introspector{Store: store},
		countries:    fakes.NewCountries(countries...),
		authBase:     authBase,
		metadata:     testMetadata(issuer),
		logLevel:     slog.LevelDebug,
	}
	for _, tweak := range tweaks {
		tweak(&d)
	}

	// The deny list and the replay guard are two uses of one fake.
	denied := fakes.NewExpiring(clock)
	authenticate, err := application.NewAuthenticateClient(clients, fakes.Hasher{}, clock, application.AssertionSupport{
		Verifier:  fakes.AssertionVerifier{},
		Box:       fakes.Box{},
		Replays:   fakes.NewExpiring(clock),
		Audiences: []string{issuer, issuer + echohttp.TokenPath, issuer + echohttp.IntrospectionPath, issuer + echohttp.RevocationPath},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.failureLimit > 0 {
		authenticate.Defend(application.Defences{
			Throttle: application.NewFailureThrottle(application.NewLocalRateLimiter(clock, 1000), clock, d.failureLimit, time.Minute),
		})
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: d.logLevel}))
	opts := func(base string) echohttp.Options {
		role := "auth"
		if base == resourceBase {
			role = "resource"
		}
		return echohttp.Options{BasePath: base, MaxBodyBytes: d.maxBody, Logger: logger, Ready: d.ready, Metrics: d.metrics, Role: role,
			TrustedProxies: d.trustedProxies, Tracing: d.tracing}
	}
	issue := application.NewIssueToken(authenticate, ring, fakes.Signer{}, d.tokens, clock, rand.Reader, issuer)
	authorize := application.NewAuthorizeBearer(d.verifier, d.introspector, revoked, d.audience)
	resourceOpts := opts(resourceBase)
	var dpopAlgs []string
	if d.dpop != nil {
		dpopAlgs = d.dpop.wire(clock, issue, authorize, &resourceOpts)
	}
	return &env{
		t:     t,
		clock: clock,
		logs:  logs,
		auth: echohttp.NewAuthServer(opts(d.authBase), echohttp.AuthHandlers{
			Issue: issue,
			Introspect: application.NewIntrospect(authenticate, d.tokens, verifier, denied, clock,
				ring, fakes.IntrospectionSigner{}, issuer),
			Revoke:   application.NewRevokeToken(authenticate, d.tokens, verifier, denied, revoked),
			JWKS:     application.NewPublishJWKS(ring, &fakes.JWKSEncoder{}, jwksMaxAge),
			Metadata: application.NewPublishMetadata(d.metadata, clients, ring),
		}),
		resource: echohttp.NewResourceServer(resourceOpts, echohttp.ResourceHandlers{
			Authorize:      authorize,
			GetCountry:     application.NewGetCountry(d.countries),
			ListCountries:  application.NewListCountries(d.countries),
			DPoPAlgorithms: dpopAlgs,
			Metadata:       d.resourceMetadata,
		}),
	}
}

// allAuthMethods are the methods the test metadata advertises.
var allAuthMethods = []string{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"}

// testMetadata is the static metadata of an issuer, its endpoints built
// from the exported paths as the lead's wiring builds them.
func testMetadata(iss string) application.ServerMetadata {
	return application.ServerMetadata{
		Issuer:                iss,
		TokenEndpoint:         iss + echohttp.TokenPath,
		JWKSURI:               iss + echohttp.JWKSPath,
		IntrospectionEndpoint: iss + echohttp.IntrospectionPath,
		RevocationEndpoint:    iss + echohttp.RevocationPath,
		GrantTypes:            []string{"client_credentials"},
		AuthMethods:           allAuthMethods,
		AuthSigningAlgs:       []string{"RS256", "ES256", "HS256"},
	}
}

func (e *env) serve(srv *echo.Echo, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec
}

func (e *env) toAuth(req *http.Request) *httptest.ResponseRecorder { return e.serve(e.auth, req) }

func (e *env) toResource(req *http.Request) *httptest.ResponseRecorder {
	return e.serve(e.resource, req)
}

// issue gets an access token with client_secret_post, as the seeds do.
func (e *env) issue(id, secret, scope string, extra ...string) string {
	e.t.Helper()
	params := append([]string{"grant_type", "client_credentials", "client_id", id, "client_secret", secret, "scope", scope}, extra...)
	return e.tokenFrom(post(tokenPath, form(params...)))
}

// tokenFrom sends a token request that must succeed and returns the token.
func (e *env) tokenFrom(req *http.Request) string {
	e.t.Helper()
	rec := e.toAuth(req)
	if rec.Code != http.StatusOK {
		e.t.Fatalf("token request: status %d, body %s", rec.Code, rec.Body)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.AccessToken == "" {
		e.t.Fatalf("token request: body %s", rec.Body)
	}
	return body.AccessToken
}

// introspect asks, as service-client-jwt, whether token is active.
func (e *env) introspect(token string) bool {
	e.t.Helper()
	rec := e.toAuth(post(introspectPath, form("client_id", jwtClient, "client_secret", jwtSecret, "token", token)))
	if rec.Code != http.StatusOK {
		e.t.Fatalf("introspect: status %d, body %s", rec.Code, rec.Body)
	}
	return jsonObject(e.t, rec)["active"] == true
}

// assertion is a client assertion (RFC 7523 §3) from client, signed the
// way method says with the client's registered key or secret, addressed
// to the issuer, valid for assertionTTL, with a fresh jti.
func (e *env) assertion(client string, method domain.AuthMethod) fakes.Assertion {
	now := e.clock.Now()
	a := fakes.Assertion{
		Claims: domain.ClientAssertion{
			Issuer: client, Subject: client, Audience: []string{issuer},
			ID: rand.Text(), IssuedAt: now, ExpiresAt: now.Add(assertionTTL),
		},
		Method: method,
	}
	switch method {
	case domain.AuthPrivateKeyJWT:
		a.Kid = keyKid
	case domain.AuthClientSecretJWT:
		a.Secret = hmacSecret
	}
	return a
}

// assertionParams are the form parameters carrying an assertion.
func assertionParams(a fakes.Assertion) []string {
	return []string{"client_assertion_type", application.AssertionTypeJWTBearer, "client_assertion", a.Encode()}
}

// form encodes name, value pairs in order, keeping repeated names.
func form(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(pairs[i]) + "=" + url.QueryEscape(pairs[i+1]))
	}
	return b.String()
}

// post is a form POST.
func post(path, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func get(path string) *http.Request { return httptest.NewRequest(http.MethodGet, path, nil) }

// with sets header name to value on req.
func with(req *http.Request, name, value string) *http.Request {
	req.Header.Set(name, value)
	return req
}

// basic is an Authorization value for client_secret_basic: id and secret
// form-urlencoded, then joined and base64-encoded (RFC 6749 §2.3.1).
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func bearer(token string) string { return "Bearer " + token }

// want is what a response must show: status, the "error" of the JSON body
// when code is set, header values exactly ("" means absent), and the
// Content-Type: "" means application/json, emptyBody no type and no body.
type want struct {
	status      int
	code        string
	header      map[string]string
	contentType string
}

// emptyBody, as want.contentType, is a response without a body.
const emptyBody = "(no body)"

func check(t *testing.T, rec *httptest.ResponseRecorder, w want) {
	t.Helper()
	if rec.Code != w.status {
		t.Errorf("status = %d, want %d; body %s", rec.Code, w.status, rec.Body)
	}
	switch ct := rec.Header().Get("Content-Type"); w.contentType {
	case "":
		if ct != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}
	case emptyBody:
		if ct != "" || rec.Body.Len() != 0 {
			t.Errorf("Content-Type = %q, body %q; want neither", ct, rec.Body)
		}
	default:
		if ct != w.contentType {
			t.Errorf("Content-Type = %q, want %s", ct, w.contentType)
		}
	}
	if w.code != "" {
		var body struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Errorf("body %q is not JSON: %v", rec.Body, err)
		}
		if body.Error != w.code {
			t.Errorf("error = %q, want %q; body %s", body.Error, w.code, rec.Body)
		}
	}
	for name, value := range w.header {
		if got := rec.Header().Get(name); got != value {
			t.Errorf("%s = %q, want %q", name, got, value)
		}
	}
}

// jsonObject decodes the body as a JSON object.
func jsonObject(t testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", rec.Body, err)
	}
	return m
}

// equalJSON compares body with want as JSON values.
func equalJSON(t *testing.T, body []byte, want string) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	gb, _ := json.Marshal(got)
	eb, _ := json.Marshal(exp)
	if !bytes.Equal(gb, eb) {
		t.Errorf("body = %s, want %s", gb, eb)
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// syncBuffer collects log output and reads it back as records.
type syncBuffer struct{ testenv.LockedBuffer }

// records returns the log records with message msg.
func (b *syncBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// errSecret is the error of a dependency that is down (fakes.BrokenTokens
// and the like), with secretText in it, which no answer may show.

var errSecret = errors.New("backend: " + secretText)

// verifierFunc answers every verification with f.
type verifierFunc func(ctx context.Context, raw string) (domain.Token, error)

func (f verifierFunc) VerifyAccessToken(ctx context.Context, raw string) (domain.Token, error) {
	return f(ctx, raw)
}
