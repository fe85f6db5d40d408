package application_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// The chain of the tests: a front service A calls B with a token made for
// B; B exchanges it for a token to call C on A's behalf; C may exchange
// that one again to call D.
const (
	audB = "https://b.example"
	audC = "https://c.example"
	audD = "https://d.example"

	spireIssuer = "https://spire.example.org"
	exchangeTT  = "urn:ietf:params:oauth:grant-type:token-exchange"
)

type exchangeEnv struct {
	*env
	ledger   *fakes.Exchanges
	external *fakes.FederatedTokens
	audits   *fakes.Auditor
}

func newExchangeEnv(t *testing.T) *exchangeEnv {
	t.Helper()
	e := &exchangeEnv{env: newEnv(t), external: &fakes.FederatedTokens{Tokens: map[string]application.FederatedToken{}, Alg: "ES256"}}
	e.ledger = fakes.NewExchanges(e.clock)
	cc := []domain.GrantType{domain.GrantClientCredentials}
	both := []domain.GrantType{domain.GrantClientCredentials, domain.GrantTokenExchange}
	methods := []domain.AuthMethod{domain.AuthClientSecretPost}
	e.addClient(t, domain.Client{
		ID: "service-a", AuthMethods: methods, GrantTypes: cc, TokenFormat: domain.FormatJWT,
		AllowedScopes: domain.NewScopes("orders.read", "orders.write", "profile"), Resources: []string{audB}, TokenLifetime: time.Hour,
	}, "a-secret")
	e.addClient(t, domain.Client{
		ID: "service-b", AuthMethods: methods, GrantTypes: both, TokenFormat: domain.FormatJWT,
		AllowedScopes: domain.NewScopes("orders.read", "orders.write"), TokenLifetime: 2 * time.Hour,
		Exchange: domain.ExchangePolicy{Audiences: []string{audC}, SubjectAudiences: []string{audB}, Delegate: true},
	}, "b-secret")
	e.addClient(t, domain.Client{
		ID: "service-c", AuthMethods: methods, GrantTypes: both, TokenFormat: domain.FormatOpaque,
		AllowedScopes: domain.NewScopes("orders.read"),
		Exchange:      domain.ExchangePolicy{Audiences: []string{audD}, SubjectAudiences: []string{audC}, Delegate: true},
	}, "c-secret")
	// narrow may exchange only its own tokens: no delegation.
	e.addClient(t, domain.Client{
		ID: "narrow", AuthMethods: methods, GrantTypes: both, TokenFormat: domain.FormatJWT,
		AllowedScopes: domain.NewScopes("orders.read", "orders.write"), Resources: []string{audB},
		Exchange: domain.ExchangePolicy{Audiences: []string{audC}, SubjectAudiences: []string{audB}},
	}, "narrow-secret")
	trust := application.FederatedIssuer{
		Issuer: spireIssuer, Audiences: []string{issuer}, Algorithms: []domain.Algorithm{"ES256"}, MaxLifetime: time.Hour,
		Mappings:      []application.FederationMapping{{Client: "service-b", Subject: "spiffe://example.org/b"}},
		SubjectScopes: domain.NewScopes("orders.read"),
	}
	fed := application.NewFederation([]application.FederatedIssuer{trust}, e.external, e.clients, e.replays, e.clock)
	e.issue.ExchangeWith(application.NewTokenExchange(e.tokens, e.verifier, e.denied, e.revoked, fed, e.ledger, e.clock))
	e.revoke.CascadeTo(e.ledger)
	e.audits = &fakes.Auditor{}
	e.issue.AuditTo(e.audits)
	return e
}

// tokenFor issues a client_credentials token to id for resource.
func (e *exchangeEnv) tokenFor(t *testing.T, id, secret, scope, resource string) string {
	t.Helper()
	out, err := e.issue.Handle(t.Context(), application.IssueTokenInput{
		Credentials: post(id, secret), GrantType: "client_credentials", Scope: scope, Resources: []string{resource},
	})
	if err != nil {
		t.Fatalf("token for %s: %v", id, err)
	}
	return out.AccessToken
}

// externalToken registers a valid SPIFFE-like token for sub and returns it.
func (e *exchangeEnv) externalToken(sub string, edit func(*application.FederatedToken)) string {
	now := e.clock.Now()
	ft := application.FederatedToken{Issuer: spireIssuer, Subject: sub, Audience: []string{issuer}, IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	if edit != nil {
		edit(&ft)
	}
	raw := fakes.Assertion{Claims: domain.ClientAssertion{Issuer: spireIssuer, ID: sub + string(rune('a'+len(e.external.Tokens)))}}.Encode()
	e.external.Tokens[raw] = ft
	return raw
}

func (e *exchangeEnv) exchange(t *testing.T, id, secret string, in application.IssueTokenInput) (application.IssuedToken, error) {
	t.Helper()
	in.Credentials = post(id, secret)
	in.GrantType = exchangeTT
	if in.SubjectTokenType == "" {
		in.SubjectTokenType = domain.TokenTypeAccessToken
	}
	return e.issue.Handle(t.Context(), in)
}

func (e *exchangeEnv) active(t *testing.T, raw string) bool {
	t.Helper()
	res, err := e.introspect.Handle(t.Context(), application.IntrospectInput{Credentials: post(jwtClientID, jwtSecret), Token: raw})
	if err != nil {
		t.Fatal(err)
	}
	return res.Active
}

func TestExchangeDelegatesWithActNarrowedScopesAndTheSubjectsLifetime(t *testing.T) {
	e := newExchangeEnv(t)
	subject := e.tokenFor(t, "service-a", "a-secret", "orders.read profile", audB)
	e.clock.Advance(10 * time.Minute)

	out, err := e.exchange(t, "service-b", "b-secret", application.IssueTokenInput{SubjectToken: subject, Audiences: []string{audC}})
	if err != nil {
		t.Fatal(err)
	}
	got := e.issued(t, out.AccessToken)
	switch {
	case got.Subject != "service-a" || got.ClientID != "service-b":
		t.Errorf("sub %q client_id %q, want service-a acted for by service-b", got.Subject, got.ClientID)
	case got.Actor == nil || got.Actor.Subject != "service-b" || got.Actor.Prior != nil:
		t.Errorf("act = %+v, want {sub: service-b}", got.Actor)
	case !slices.Equal(got.Audience, []string{audC}):
		t.Errorf("aud = %v, want [%s]", got.Audience, audC)
	case got.Scopes.String() != "orders.read":
		// profile is the subject's but not among B's scopes: dropped.
		t.Errorf("scope = %q, want orders.read", got.Scopes.String())
	case out.IssuedTokenType != domain.TokenTypeAccessToken:
		t.Errorf("issued_token_type = %q", out.IssuedTokenType)
	case out.ExpiresIn != 50*60 || !got.ExpiresAt.Equal(t0.Add(time.Hour)):
		// B's tokens live two hours, the subject only 50 more minutes.
		t.Errorf("expires_in %d, exp %v: want the subject's exp %v", out.ExpiresIn, got.ExpiresAt, t0.Add(time.Hour))
	}
}

func TestExchangeChainsNestActAndRevokingTheSubjectRevokesTheChain(t *testing.T) {
	e := newExchangeEnv(t)
	subject := e.tokenFor(t, "service-a", "a-secret", "orders.read orders.write", audB)
	atB, err := e.exchange(t, "service-b", "b-secret", application.IssueTokenInput{SubjectToken: subject})
	if err != nil {
		t.Fatal(err)
	}
	atC, err := e.exchange(t, "service-c", "c-secret", application.IssueTokenInput{SubjectToken: atB.AccessToken, Scope: "orders.read"})
	if err != nil {
		t.Fatal(err)
	}
	got := e.issued(t, atC.AccessToken)
	if got.Format != domain.FormatOpaque || got.Subject != "service-a" || got.Actor.Depth() != 2 ||
		got.Actor.Subject != "service-c" || got.Actor.Prior.Subject != "service-b" {
		t.Fatalf("C's token: format %s sub %q act %+v, want opaque, service-a, act service-c then service-b", got.Format, got.Subject, got.Actor)
	}
	if _, err := e.exchange(t, "service-c", "c-secret", application.IssueTokenInput{SubjectToken: atB.AccessToken, Scope: "orders.write"}); err == nil {
		t.Fatal("C kept orders.write, which C may not have")
	}
	// B narrowing the token it got for A does not name itself twice.
	again, err := e.exchange(t, "service-b", "b-secret", application.IssueTokenInput{SubjectToken: atB.AccessToken, Scope: "orders.read"})
	if err != nil {
		t.Fatal(err)
	}
	if act := e.issued(t, again.AccessToken).Actor; act.Depth() != 1 || act.Subject != "service-b" {
		t.Errorf("B's re-exchange: act %+v, want {sub: service-b} alone", act)
	}
	issued := e.audits.Events()
	if last := issued[len(issued)-1]; last.Subject != "service-a" || last.Actor != "service-b" || last.Parent == "" || last.ClientID != "service-b" {
		t.Errorf("audit of an exchange: %+v, want sub service-a, act service-b, the parent's jti", last)
	}
	for _, tok := range []string{subject, atB.AccessToken, atC.AccessToken} {
		if !e.active(t, tok) {
			t.Fatal("a token of the chain is inactive before any revocation")
		}
	}

	if err := e.revoke.Handle(t.Context(), application.RevokeInput{Credentials: post("service-a", "a-secret"), Token: subject}); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"subject": subject, "B's JWT": atB.AccessToken, "C's opaque token": atC.AccessToken} {
		if e.active(t, tok) {
			t.Errorf("%s is still active after the subject token was revoked", name)
		}
	}
	revoked := 0
	for _, ev := range e.events.Published() {
		if ev.Kind == domain.EventRevoked {
			revoked++
		}
	}
	if revoked != 4 {
		t.Errorf("%d revocations announced to the resource nodes, want 4 (the subject and the three exchanged)", revoked)
	}
	if _, err := e.exchange(t, "service-b", "b-secret", application.IssueTokenInput{SubjectToken: subject}); err == nil {
		t.Error("a revoked subject token was exchanged")
	}
}

func TestExchangeRefusals(t *testing.T) {
	e := newExchangeEnv(t)
	forB := e.tokenFor(t, "service-a", "a-secret", "orders.read", audB)
	narrowOwn := e.tokenFor(t, "narrow", "narrow-secret", "orders.read orders.write", audB)
	cases := map[string]struct {
		client, secret string
		in             application.IssueTokenInput
		want           *domain.Error
	}{
		"no subject token":          {"service-b", "b-secret", application.IssueTokenInput{}, domain.ErrInvalidRequest},
		"no subject token type":     {"service-b", "b-secret", application.IssueTokenInput{SubjectToken: forB, SubjectTokenType: "-"}, domain.ErrInvalidRequest},
		"an unknown subject token":  {"service-b", "b-secret", application.IssueTokenInput{SubjectToken: "not-a-token"}, domain.ErrInvalidRequest},
		"a subject token for other": {"service-c", "c-secret", application.IssueTokenInput{SubjectToken: forB}, domain.ErrInvalidRequest},
		"a client without delegation": {"narrow", "narrow-secret",
			application.IssueTokenInput{SubjectToken: forB}, domain.ErrInvalidRequest},
		"a scope the subject lacks": {"service-b", "b-secret", application.IssueTokenInput{SubjectToken: forB, Scope: "orders.write"}, domain.ErrInvalidScope},
		"an audience not allowed":   {"service-b", "b-secret", application.IssueTokenInput{SubjectToken: forB, Audiences: []string{audD}}, domain.ErrInvalidTarget},
		"a resource not allowed":    {"service-b", "b-secret", application.IssueTokenInput{SubjectToken: forB, Resources: []string{audD}}, domain.ErrInvalidTarget},
		"an unsupported requested type": {"service-b", "b-secret",
			application.IssueTokenInput{SubjectToken: forB, RequestedTokenType: "urn:ietf:params:oauth:token-type:saml2"}, domain.ErrInvalidRequest},
		"an actor token type alone": {"service-b", "b-secret", application.IssueTokenInput{SubjectToken: forB, ActorTokenType: domain.TokenTypeJWT}, domain.ErrInvalidRequest},
		"another client's actor token": {"service-b", "b-secret",
			application.IssueTokenInput{SubjectToken: forB, ActorToken: narrowOwn, ActorTokenType: domain.TokenTypeAccessToken}, domain.ErrInvalidRequest},
		"a client without the grant": {"service-a", "a-secret", application.IssueTokenInput{SubjectToken: forB}, domain.ErrUnauthorizedClient},
		"an opaque token as jwt type": {"service-b", "b-secret",
			application.IssueTokenInput{SubjectToken: "opaque-value", SubjectTokenType: domain.TokenTypeJWT}, domain.ErrInvalidRequest},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if c.in.SubjectTokenType == "-" {
				c.in.SubjectTokenType = ""
				in := c.in
				in.Credentials, in.GrantType = post(c.client, c.secret), exchangeTT
				_, err := e.issue.Handle(t.Context(), in)
				wantOAuthError(t, err, c.want)
				return
			}
			_, err := e.exchange(t, c.client, c.secret, c.in)
			wantOAuthError(t, err, c.want)
		})
	}

	t.Run("a client narrows its own token without delegation, and no act is added", func(t *testing.T) {
		out, err := e.exchange(t, "narrow", "narrow-secret", application.IssueTokenInput{SubjectToken: narrowOwn, Scope: "orders.read", RequestedTokenType: domain.TokenTypeJWT})
		if err != nil {
			t.Fatal(err)
		}
		got := e.issued(t, out.AccessToken)
		if got.Actor != nil || got.Subject != "narrow" || got.Scopes.String() != "orders.read" || out.IssuedTokenType != domain.TokenTypeJWT {
			t.Errorf("got sub %q act %+v scope %q type %q", got.Subject, got.Actor, got.Scopes.String(), out.IssuedTokenType)
		}
	})

	t.Run("an expired subject token", func(t *testing.T) {
		e.clock.Advance(2 * time.Hour)
		_, err := e.exchange(t, "service-b", "b-secret", application.IssueTokenInput{SubjectToken: forB})
		wantReason(t, err, domain.ErrInvalidRequest, "not an active token of this server")
	})
}

func TestExchangeOfExternalTokensHonoursMayActAndTheIssuersScopes(t *testing.T) {
	e := newExchangeEnv(t)
	e.saveClient(t, func() domain.Client {
		c, _ := e.clients.FindClient(t.Context(), "service-b")
		c.Exchange.Audiences = []string{audC}
		return c
	}())

	t.Run("a workload's token, with B's own SVID as actor", func(t *testing.T) {
		subject := e.externalToken("spiffe://example.org/frontend", nil)
		actor := e.externalToken("spiffe://example.org/b", nil)
		out, err := e.exchange(t, "service-b", "b-secret", application.IssueTokenInput{
			SubjectToken: subject, SubjectTokenType: domain.TokenTypeJWT, ActorToken: actor, ActorTokenType: domain.TokenTypeJWT,
		})
		if err != nil {
			t.Fatal(err)
		}
		got := e.issued(t, out.AccessToken)
		if got.Subject != "spiffe://example.org/frontend" || got.Actor == nil || got.Actor.Subject != "spiffe://example.org/b" ||
			got.Actor.Issuer != spireIssuer || got.Scopes.String() != "orders.read" || !got.ExpiresAt.Equal(t0.Add(5*time.Minute)) {
			t.Errorf("got sub %q act %+v scope %q exp %v", got.Subject, got.Actor, got.Scopes.String(), got.ExpiresAt)
		}
		if got.Parent != "" {
			t.Errorf("parent %q: an external subject token is not in Sigil's ledger", got.Parent)
		}
	})

	t.Run("may_act naming another actor refuses", func(t *testing.T) {
		subject := e.externalToken("spiffe://example.org/frontend", func(ft *application.FederatedToken) {
			ft.MayAct = &domain.Actor{Subject: "service-x"}
		})
		_, err := e.exchange(t, "service-b", "b-secret", application.IssueTokenInput{SubjectToken: subject, SubjectTokenType: domain.TokenTypeJWT})
		wantReason(t, err, domain.ErrInvalidRequest, "may_act")
	})

	t.Run("may_act naming the client allows", func(t *testing.T) {
		subject := e.externalToken("spiffe://example.org/frontend", func(ft *application.FederatedToken) {
			ft.MayAct = &domain.Actor{Subject: "service-b"}
		})
		if _, err := e.exchange(t, "service-b", "b-secret", application.IssueTokenInput{SubjectToken: subject, SubjectTokenType: domain.TokenTypeJWT}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("an actor token that maps to another client refuses", func(t *testing.T) {
		subject := e.externalToken("spiffe://example.org/frontend", nil)
		actor := e.externalToken("spiffe://example.org/someone-else", nil)
		_, err := e.exchange(t, "service-b", "b-secret", application.IssueTokenInput{
			SubjectToken: subject, SubjectTokenType: domain.TokenTypeJWT, ActorToken: actor, ActorTokenType: domain.TokenTypeJWT,
		})
		wantReason(t, err, domain.ErrInvalidRequest, "does not map")
	})

	t.Run("an expired external token refuses", func(t *testing.T) {
		subject := e.externalToken("spiffe://example.org/frontend", func(ft *application.FederatedToken) {
			ft.ExpiresAt = e.clock.Now().Add(-time.Hour)
		})
		_, err := e.exchange(t, "service-b", "b-secret", application.IssueTokenInput{SubjectToken: subject, SubjectTokenType: domain.TokenTypeJWT})
		wantReason(t, err, domain.ErrInvalidRequest, "expired")
	})
}
