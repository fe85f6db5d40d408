package e2e_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
)

// exchangeClients is a chain of three services as an operator writes it
// in the clients file: A calls B with a token made for B; B may exchange
// it for a token to call C on A's behalf (delegate); C may do the same to
// call D, with opaque tokens.
const exchangeClients = `
clients:
  - id: service-a
    scopes: [orders.read, orders.write, profile]
    resources: [https://b.example]
    secrets: [{id: s1, secret: service-a-secret}]
  - id: service-b
    scopes: [orders.read, orders.write]
    secrets: [{id: s1, secret: service-b-secret}]
    token_exchange:
      audiences: [https://c.example]
      subject_audiences: [https://b.example]
      delegate: true
  - id: service-c
    token_format: opaque
    scopes: [orders.read]
    secrets: [{id: s1, secret: service-c-secret}]
    token_exchange:
      audiences: [https://d.example]
      subject_audiences: [https://c.example]
      delegate: true
`

const grantTokenExchange = string(domain.GrantTokenExchange)

func exchangeForm(subject string, extra ...string) url.Values {
	f := url.Values{"grant_type": {grantTokenExchange}, "subject_token": {subject}, "subject_token_type": {domain.TokenTypeAccessToken}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Add(extra[i], extra[i+1])
	}
	return f
}

func TestTokenExchangeAlongAChainOfServices(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	n := startNode(t, nil)
	inputs, err := bootstrap.ParseClientsFile([]byte(exchangeClients), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	n.register(t, inputs...)
	tokenURL := n.AuthURL + "/oauth2/token"

	r := postForm(t, tokenURL, url.Values{"grant_type": {"client_credentials"}, "scope": {"orders.read profile"}, "resource": {"https://b.example"}},
		[]string{"service-a", "service-a-secret"})
	if r.Status != http.StatusOK {
		t.Fatalf("A's token: %d %s", r.Status, r.Body)
	}
	forB := r.JSON(t)["access_token"].(string)

	// B exchanges A's token to call C on A's behalf.
	r = postForm(t, tokenURL, exchangeForm(forB, "audience", "https://c.example"), []string{"service-b", "service-b-secret"})
	if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("B's exchange: %d %s (Cache-Control %q)", r.Status, r.Body, r.Header.Get("Cache-Control"))
	}
	out := r.JSON(t)
	if out["issued_token_type"] != domain.TokenTypeAccessToken || out["token_type"] != "Bearer" || out["scope"] != "orders.read" {
		t.Errorf("B's answer %v: want issued_token_type access_token, Bearer, scope orders.read (profile is not B's)", out)
	}
	forC := out["access_token"].(string)
	c := claimsOf(t, forC)
	if c["sub"] != "service-a" || c["client_id"] != "service-b" || c["aud"] != "https://c.example" {
		t.Errorf("B's token claims sub %v client_id %v aud %v", c["sub"], c["client_id"], c["aud"])
	}
	if act, _ := c["act"].(map[string]any); act["sub"] != "service-b" || act["act"] != nil {
		t.Errorf("act = %v, want {sub: service-b}", c["act"])
	}

	// The resource role verifies such a token as any other: it names C, so
	// a resource server for C accepts it. (The demo resource, which checks
	// scope country.read, answers 403 for this scope.)
	if r := get(t, n.ResourceURL+"/country/code/AUS", forC); r.Status != http.StatusForbidden {
		t.Errorf("resource with B's exchanged token: %d %s, want 403 insufficient_scope", r.Status, r.Body)
	}

	// C exchanges again, to call D: an opaque token with a nested act.
	r = postForm(t, tokenURL, exchangeForm(forC), []string{"service-c", "service-c-secret"})
	if r.Status != http.StatusOK {
		t.Fatalf("C's exchange: %d %s", r.Status, r.Body)
	}
	forD := r.JSON(t)["access_token"].(string)
	in := introspectAs(t, n, forD)
	act, _ := in["act"].(map[string]any)
	prior, _ := act["act"].(map[string]any)
	if in["active"] != true || in["sub"] != "service-a" || in["client_id"] != "service-c" || act["sub"] != "service-c" || prior["sub"] != "service-b" {
		t.Errorf("introspection of C's token: %v", in)
	}
	if exp, subjectExp := in["exp"].(float64), c["exp"].(float64); exp > subjectExp {
		t.Errorf("C's token expires at %v, after the token it came from (%v)", exp, subjectExp)
	}

	// B's own token as the actor token: the same act, proven by a token.
	r = postForm(t, tokenURL, url.Values{"grant_type": {"client_credentials"}}, []string{"service-b", "service-b-secret"})
	if r.Status != http.StatusOK {
		t.Fatalf("B's own token: %d %s", r.Status, r.Body)
	}
	ownB := r.JSON(t)["access_token"].(string)
	r = postForm(t, tokenURL, exchangeForm(forB, "actor_token", ownB, "actor_token_type", domain.TokenTypeAccessToken), []string{"service-b", "service-b-secret"})
	if r.Status != http.StatusOK {
		t.Fatalf("exchange with an actor token: %d %s", r.Status, r.Body)
	}
	if act, _ := claimsOf(t, r.JSON(t)["access_token"].(string))["act"].(map[string]any); act["sub"] != "service-b" {
		t.Errorf("act with B's actor token: %v", act)
	}

	// Each refusal as RFC 8693 §2.2.2 and RFC 6749 §5.2 say.
	for name, tc := range map[string]struct {
		form  url.Values
		basic []string
		code  string
	}{
		"no subject_token_type":      {url.Values{"grant_type": {grantTokenExchange}, "subject_token": {forB}}, []string{"service-b", "service-b-secret"}, "invalid_request"},
		"a tampered subject token":   {exchangeForm(forB[:len(forB)-4] + "AAAA"), []string{"service-b", "service-b-secret"}, "invalid_request"},
		"a token not made for C":     {exchangeForm(forB), []string{"service-c", "service-c-secret"}, "invalid_request"},
		"a scope the subject lacks":  {exchangeForm(forB, "scope", "orders.write"), []string{"service-b", "service-b-secret"}, "invalid_scope"},
		"an audience not allowed":    {exchangeForm(forB, "audience", "https://d.example"), []string{"service-b", "service-b-secret"}, "invalid_target"},
		"a client without the grant": {exchangeForm(forB), []string{"service-a", "service-a-secret"}, "unauthorized_client"},
		"a wrong secret":             {exchangeForm(forB), []string{"service-b", "wrong"}, "invalid_client"},
		"another client's token as actor": {exchangeForm(forB, "actor_token", forB, "actor_token_type", domain.TokenTypeAccessToken),
			[]string{"service-b", "service-b-secret"}, "invalid_request"},
		"an actor_token_type alone": {exchangeForm(forB, "actor_token_type", domain.TokenTypeAccessToken), []string{"service-b", "service-b-secret"}, "invalid_request"},
		"an unsupported requested_token_type": {exchangeForm(forB, "requested_token_type", "urn:ietf:params:oauth:token-type:saml2"),
			[]string{"service-b", "service-b-secret"}, "invalid_request"},
	} {
		r := postForm(t, tokenURL, tc.form, tc.basic)
		want := http.StatusBadRequest
		if tc.code == "invalid_client" {
			want = http.StatusUnauthorized
		}
		if r.Status != want || r.JSON(t)["error"] != tc.code || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %s, want %d %s", name, r.Status, r.Body, want, tc.code)
		}
	}

	// Revoking A's token revokes what was exchanged from it, down the chain.
	if r := postForm(t, n.AuthURL+"/oauth2/revoke", url.Values{"token": {forB}}, []string{"service-a", "service-a-secret"}); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	for name, tok := range map[string]string{"A's token": forB, "B's token": forC, "C's token": forD} {
		if got := introspectAs(t, n, tok); got["active"] != false {
			t.Errorf("%s after the revocation of A's: %v", name, got)
		}
	}
	if r := postForm(t, tokenURL, exchangeForm(forB), []string{"service-b", "service-b-secret"}); r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_request" {
		t.Errorf("a revoked subject token: %d %s", r.Status, r.Body)
	}
	waitFor(t, "the resource role to refuse B's revoked token", func() bool {
		return get(t, n.ResourceURL+"/country/code/AUS", forC).Status == http.StatusUnauthorized
	})

	meta := get(t, n.AuthURL+"/.well-known/oauth-authorization-server", "").JSON(t)
	if grants, _ := meta["grant_types_supported"].([]any); !slices.Contains(grants, any(grantTokenExchange)) {
		t.Errorf("grant_types_supported %v lacks token exchange", grants)
	}
}

func TestTokenExchangeOfAKubernetesServiceAccountToken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	k8s := newK8sIssuer(t)
	file := writeFederationFile(t, `
issuers:
  - issuer: `+k8s.url+`
    subject_token_scopes: [orders.read]
`)
	n := startNode(t, func(c *bootstrap.Config) { c.FederationFile = file })
	inputs, err := bootstrap.ParseClientsFile([]byte(exchangeClients), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	n.register(t, inputs...)

	// A workload's own service account token, audience Sigil, is the
	// subject: B exchanges it to call C for that workload.
	sa := k8s.token(t, "shop/frontend", n.Config.Issuer(), 10*time.Minute)
	form := exchangeForm(sa)
	form.Set("subject_token_type", domain.TokenTypeJWT)
	r := postForm(t, n.AuthURL+"/oauth2/token", form, []string{"service-b", "service-b-secret"})
	if r.Status != http.StatusOK {
		t.Fatalf("exchange: %d %s", r.Status, r.Body)
	}
	c := claimsOf(t, r.JSON(t)["access_token"].(string))
	if c["sub"] != "system:serviceaccount:shop:frontend" || c["scope"] != "orders.read" || c["aud"] != "https://c.example" {
		t.Errorf("claims %v", c)
	}
	if exp := int64(c["exp"].(float64)); exp > time.Now().Add(10*time.Minute+time.Second).Unix() {
		t.Errorf("the exchanged token outlives the service account token: exp %d", exp)
	}
	// A token of the issuer for another audience is refused.
	form.Set("subject_token", k8s.token(t, "shop/frontend", "https://elsewhere.example", 10*time.Minute))
	if r := postForm(t, n.AuthURL+"/oauth2/token", form, []string{"service-b", "service-b-secret"}); r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_request" {
		t.Errorf("wrong audience: %d %s", r.Status, r.Body)
	}
}

func TestTokenExchangeInteropWithOauth4webapi(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and Node.js")
	}
	scripts := nodeClient(t, "oauth4webapi")
	n := startNode(t, nil)
	inputs, err := bootstrap.ParseClientsFile([]byte(exchangeClients), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	n.register(t, inputs...)
	r := postForm(t, n.AuthURL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"orders.read"}, "resource": {"https://b.example"}},
		[]string{"service-a", "service-a-secret"})
	if r.Status != http.StatusOK {
		t.Fatalf("A's token: %d %s", r.Status, r.Body)
	}
	raw := scripts.run(t, "token-exchange-client.mjs", n.Config.Issuer(), "service-b", "service-b-secret", r.JSON(t)["access_token"].(string), "https://c.example")
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("script printed %q: %v", raw, err)
	}
	if got["token_type"] != "bearer" && got["token_type"] != "Bearer" || got["issued_token_type"] != domain.TokenTypeAccessToken || got["scope"] != "orders.read" {
		t.Errorf("oauth4webapi saw %v", got)
	}
	if act, _ := claimsOf(t, got["access_token"].(string))["act"].(map[string]any); act["sub"] != "service-b" {
		t.Errorf("act of the token oauth4webapi got: %v", act)
	}
}

// introspectAs asks the node's introspection endpoint about tok as the
// demo client allowed to introspect.
func introspectAs(t *testing.T, n *node, tok string) map[string]any {
	t.Helper()
	r := postForm(t, n.AuthURL+"/oauth2/introspect", url.Values{"token": {tok}}, jwtClient)
	if r.Status != http.StatusOK {
		t.Fatalf("introspect: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

// waitFor polls cond for up to ten seconds; what it waits for is named
// by what in the failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
