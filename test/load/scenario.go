package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// The demo clients every new SQLite database gets (README, "Demo clients").
const (
	jwtClient, jwtSecret       = "service-client-jwt", "service-client-jwt-secret"
	opaqueClient, opaqueSecret = "user-client-opaque", "user-client-secret"
)

// Names of the reference rows. Each sigil's HTTP ceiling is measured on
// that sigil, and the scenarios it serves are compared with it: issue 5
// asks for "a trivial endpoint of the same server", and a reference
// measured on the same process, just before its scenarios, leaves less
// room for the machine to drift between the two. The raw signing rates
// are measured in this process, around the token row of their algorithm
// (see runRaw).
const (
	ceiling      = "HTTP ceiling: GET /healthz"
	ceilingES256 = "HTTP ceiling: GET /healthz (ES256 sigil)"
	ceilingEdDSA = "HTTP ceiling: GET /healthz (EdDSA sigil)"
	rawRS256     = "raw RS256 signing (crypto/rsa 2048)"
	rawES256     = "raw ES256 signing (crypto/ecdsa P-256, RFC 6979)"
	rawEdDSA     = "raw EdDSA signing (crypto/ed25519)"
	oneClient    = "token, opaque, 1 client of 10,000"
	manyClients  = "token, opaque, 10,000 clients in turn"
)

// scenario is one row of the table: what to load, and what it is compared
// with. Issue 5 names the scenarios, references and targets; issue 10 the
// EdDSA row, the rows with 10,000 clients and the signing rows' second
// reference.
type scenario struct {
	Name string
	// Node names the sigil that serves the scenario (see nodes).
	Node    string
	Request func(s *sigil, t tokens) request
	// Raw, when set, makes the row the raw rate of a signing primitive,
	// measured in this process rather than with wrk; Request is unused.
	Raw       func() (primitive, error)
	Reference string
	// Ceiling, for a row that signs each answer, names the HTTP ceiling
	// of its sigil: the row is then compared with what the raw signing
	// rate (Reference) and the ceiling allow together (see ratio).
	Ceiling string
	// ByCPU adds the ratio counted in CPU to the row's result (cpuRatio).
	ByCPU  bool
	Target float64
	// Flood, when set, is sent by a second wrk at full speed all through
	// the scenario's warm-up and measurement: the attack the row is
	// measured under. MaxRSS is then the target for the sigil process's
	// peak resident memory during it.
	Flood  func(s *sigil) request
	MaxRSS int64
}

// node is one sigil the harness starts, and the algorithm it signs with.
type node struct {
	Name         string
	KeyAlgorithm string
	// Clients marks the node whose rows present the registered clients
	// of clients.go instead of the demo clients.
	Clients bool
	// NoMetrics runs the node without its management listener, so that
	// nothing is counted: the reference of the metrics row.
	NoMetrics bool
	// Tracing turns tracing on (OTEL_EXPORTER_OTLP_ENDPOINT), exporting
	// every request's spans to a receiver of the harness's own.
	Tracing bool
	// MTLS serves TLS with client certificates requested, for the rows
	// of mtls.go.
	MTLS bool
}

// metricsOff is the reference row of the metrics row.
const metricsOff = "token, opaque in Redis, metrics off"

// nodes are started one after the other, each running its scenarios.
// The clients node has a sigil of its own so that its client cache

// holds the 10,000 clients and nothing else.
var nodes = []node{
	{Name: "RS256", KeyAlgorithm: "RS256"},
	{Name: "ES256", KeyAlgorithm: "ES256"},
	{Name: "EdDSA", KeyAlgorithm: "EdDSA"},
	{Name: "clients", KeyAlgorithm: "EdDSA", Clients: true},
	// The metrics row and its reference run on two sigils alike but for
	// admin-addr, one just after the other.
	{Name: "metrics", KeyAlgorithm: "RS256"},
	{Name: "no-metrics", KeyAlgorithm: "RS256", NoMetrics: true},
	// The tracing row: that same sigil with tracing on, just after it.
	{Name: "tracing", KeyAlgorithm: "RS256", NoMetrics: true, Tracing: true},
	// The mutual-TLS rows, signed as the plain resource GET's token is.
	{Name: "mTLS", KeyAlgorithm: "RS256", MTLS: true},
}

// tokens are the access tokens the resource and introspection scenarios
// present, issued once by the node under test.
type tokens struct {
	JWT    string // service-client-jwt's
	Opaque string // user-client-opaque's, kept in Redis
	DPoP   string // service-client-jwt's, bound to dpopKey
	MTLS   string // the mTLS client's, bound to its certificate (mtls.go)
}

// tokenRequest is the client_credentials grant (RFC 6749 §4.4) with
// client_secret_basic, default scopes.
func tokenRequest(s *sigil, id, secret string) request {
	return request{
		Method: http.MethodPost,
		URL:    s.AuthURL + "/oauth2/token",
		Header: map[string]string{"Authorization": basicAuth(id, secret)},
		Body:   "grant_type=client_credentials",
	}
}

// healthRequest is the trivial endpoint whose rate is the HTTP ceiling.
func healthRequest(s *sigil, _ tokens) request {
	return request{Method: http.MethodGet, URL: s.HealthURL}
}

// jwtTokenRequest is the demo JWT client's token request.
func jwtTokenRequest(s *sigil, _ tokens) request { return tokenRequest(s, jwtClient, jwtSecret) }

// resourceRequest is the seed's country lookup with a bearer token.
func resourceRequest(s *sigil, token string) request {
	return request{
		Method: http.MethodGet,
		URL:    s.ResourceURL + "/country/code/AUS",
		Header: map[string]string{"Authorization": "Bearer " + token},
	}
}

var scenarios = []scenario{
	// The signing rows: see ratio for the comparison, README
	// ("Performance") for the targets.
	{
		Name: "token, JWT RS256", Node: "RS256", Reference: rawRS256, Ceiling: ceiling, ByCPU: true, Target: 0.90,
		Request: jwtTokenRequest,
	},
	{
		Name: "token, JWT ES256", Node: "ES256", Reference: rawES256, Ceiling: ceilingES256, ByCPU: true, Target: 0.65,
		Request: jwtTokenRequest,
	},
	{
		Name: "token, JWT EdDSA", Node: "EdDSA", Reference: rawEdDSA, Ceiling: ceilingEdDSA, ByCPU: true, Target: 0.65,
		Request: jwtTokenRequest,
	},
	{
		Name: "token, opaque in Redis", Node: "RS256", Reference: ceiling, Target: 0.45,
		Request: func(s *sigil, _ tokens) request { return tokenRequest(s, opaqueClient, opaqueSecret) },
	},
	// Issue 11: what the request metrics cost, against a sigil that counts
	// nothing (admin-addr empty).
	{
		Name: "token, opaque in Redis, metrics on", Node: "metrics", Reference: metricsOff, ByCPU: true, Target: 0.97,
		Request: func(s *sigil, _ tokens) request { return tokenRequest(s, opaqueClient, opaqueSecret) },
	},
	{
		Name: metricsOff, Node: "no-metrics",
		Request: func(s *sigil, _ tokens) request { return tokenRequest(s, opaqueClient, opaqueSecret) },
	},
	// Issue 11: what tracing costs with every request sampled and exported
	// (OTLP/HTTP to a receiver that accepts and drops), against the same
	// sigil with tracing off (and nothing counted, as here).
	{
		Name: "token, opaque in Redis, tracing on", Node: "tracing", Reference: metricsOff, ByCPU: true, Target: 0.55,
		Request: func(s *sigil, _ tokens) request { return tokenRequest(s, opaqueClient, opaqueSecret) },
	},
	{
		// RFC 7662 §2.1: the resource server's client asks about an opaque token.
		Name: "introspection of an opaque token", Node: "RS256", Reference: ceiling, Target: 0.50,
		Request: func(s *sigil, t tokens) request {
			return request{
				Method: http.MethodPost,
				URL:    s.AuthURL + "/oauth2/introspect",
				Header: map[string]string{"Authorization": basicAuth(jwtClient, jwtSecret)},
				Body:   "token=" + url.QueryEscape(t.Opaque),
			}
		},
	},
	{
		Name: "resource GET, JWT", Node: "RS256", Reference: ceiling, Target: 0.60,
		Request: func(s *sigil, t tokens) request { return resourceRequest(s, t.JWT) },
	},
	{
		Name: "resource GET, opaque", Node: "RS256", Reference: ceiling, Target: 0.55,
		Request: func(s *sigil, t tokens) request { return resourceRequest(s, t.Opaque) },
	},
	// Issue 9: the legitimate clients, whose secrets are verified and
	// cached, while wrong secrets flood the token endpoint.
	{
		Name: "token under attack, JWT RS256", Node: "RS256", Reference: "token, JWT RS256", Target: 0.80,
		Request: jwtTokenRequest,
		Flood:   floodRequest, MaxRSS: 256 << 20,
	},
	{
		Name: "token under attack, opaque in Redis", Node: "RS256", Reference: "token, opaque in Redis", Target: 0.80,
		Request: func(s *sigil, _ tokens) request { return tokenRequest(s, opaqueClient, opaqueSecret) },
		Flood:   floodRequest, MaxRSS: 256 << 20,
	},
	// Issue 10: the same request from 10,000 registered clients in turn,
	// so that the client and credential caches hold 10,000 entries,
	// against one of them alone; see clients.go.
	{
		Name: manyClients, Node: "clients", Reference: oneClient, ByCPU: true, Target: 0.80,
		Request: func(s *sigil, _ tokens) request { return rotatingTokenRequest(s, activeClients) },
	},
	{Name: oneClient, Node: "clients", Request: func(s *sigil, _ tokens) request { return rotatingTokenRequest(s, 1) }},
	// Issue 12: DPoP, each row against the raw rate of verifying an ES256
	// proof and the ceiling of its sigil (see dpop.go).
	{
		Name: dpopTokenRow, Node: "ES256", Reference: rawDPoPToken, Ceiling: ceilingES256, ByCPU: true, Target: 0.45,
		Request: dpopTokenRequest,
	},
	{
		Name: dpopResourceRow, Node: "ES256", Reference: rawDPoPResource, Ceiling: ceilingES256, ByCPU: true, Target: 0.60,
		Request: dpopResourceRequest,
	},
	// Issue 12: mutual TLS, loaded by the Go driver, against a minimal Go
	// HTTPS server that gives back the same answer with no work (mtls.go).
	// The target allows Sigil's own work what the plain resource GET's
	// 0.60 of its ceiling allows, on top of the TLS ceiling's higher cost
	// per answer (README, "mTLS row").
	{
		Name: mtlsRow, Node: "mTLS", Reference: tlsCeiling, ByCPU: true, Target: 0.70,
		Request: mtlsResourceRequest,
	},
	{Name: ceiling, Node: "RS256", Request: healthRequest},
	{Name: ceilingES256, Node: "ES256", Request: healthRequest},
	{Name: ceilingEdDSA, Node: "EdDSA", Request: healthRequest},
	{Name: tlsCeiling, Node: "mTLS", Request: tlsCeilingRequest},
	{Name: tlsHealthzRow, Node: "mTLS", Request: tlsHealthzRequest},
	{Name: rawRS256, Node: "RS256", Raw: rsaPrimitive},
	{Name: rawES256, Node: "ES256", Raw: ecdsaPrimitive},
	{Name: rawEdDSA, Node: "EdDSA", Raw: ed25519Primitive},
	{Name: rawDPoPToken, Node: "ES256", Raw: dpopVerifyPrimitive},
	{Name: rawDPoPResource, Node: "ES256", Raw: dpopVerifyPrimitive},
}

// fetchTokens asks the node for one JWT and one opaque token.
func fetchTokens(ctx context.Context, s *sigil) (tokens, error) {
	var t tokens
	var err error
	if t.JWT, err = fetchToken(ctx, tokenRequest(s, jwtClient, jwtSecret)); err != nil {
		return tokens{}, err
	}
	if t.Opaque, err = fetchToken(ctx, tokenRequest(s, opaqueClient, opaqueSecret)); err != nil {
		return tokens{}, err
	}
	if t.DPoP, err = fetchDPoPToken(ctx, s); err != nil {
		return tokens{}, err
	}
	return t, nil
}

// fetchToken sends a token request and returns the access token of a
// successful answer (RFC 6749 §5.1).
func fetchToken(ctx context.Context, r request) (string, error) {
	resp, err := r.send(ctx)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	var answer struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &answer) != nil || answer.AccessToken == "" {
		return "", fmt.Errorf("token: %d %s", resp.StatusCode, body)
	}
	return answer.AccessToken, nil
}

// floodLua makes every flood request anew: a wrong secret, never the same
// twice, for the JWT client's own id, the opaque client's, or one of a
// thousand unknown ids, each from one of a thousand addresses named in
// X-Forwarded-For (sigil trusts it from loopback in the harness), so the
// attack meets the hash as often as the throttle lets it: a fresh
// address may fail ten times before it is throttled.
const floodLua = `
local ids = {"` + jwtClient + `", "` + opaqueClient + `"}
local n = 0
request = function()
  n = n + 1
  local id = ids[n % 3 + 1] or ("no-such-client-" .. math.random(1000))
  local body = "grant_type=client_credentials&client_id=" .. id ..
    "&client_secret=guess-" .. n .. "-" .. math.random(1000000000)
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Forwarded-For"] = "203.0.113." .. math.random(250) .. ", 10.0." .. math.random(4) .. "." .. math.random(250),
  }, body)
end
`

// floodRequest is the attack of the "under attack" rows.
func floodRequest(s *sigil) request {
	return request{Method: http.MethodPost, URL: s.AuthURL + "/oauth2/token", Lua: floodLua}
}
