package application_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

const (
	fedIssuer = "https://kubernetes.default.svc"
	fedAud    = "https://sigil.test"
)

type federationSetup struct {
	clock  *fakes.Clock
	tokens *fakes.FederatedTokens
	auth   *application.AuthenticateClient
	issue  *application.IssueToken
}

func newFederationSetup(t *testing.T, trust application.FederatedIssuer) *federationSetup {
	t.Helper()
	s := &federationSetup{
		clock:  fakes.NewClock(time.Unix(1_800_000_000, 0)),
		tokens: &fakes.FederatedTokens{Tokens: map[string]application.FederatedToken{}, Alg: "RS256"},
	}
	clients := fakes.NewClients()
	ctx := context.Background()
	for _, id := range []string{"orders", "deployer"} {
		_ = clients.SaveClient(ctx, domain.Client{
			ID: id, AuthMethods: []domain.AuthMethod{domain.AuthFederatedJWT}, GrantTypes: cc,
			TokenFormat: domain.FormatOpaque, AllowedScopes: domain.NewScopes("read"),
		})
	}
	_ = clients.SaveClient(ctx, domain.Client{
		ID: "both", AuthMethods: []domain.AuthMethod{domain.AuthFederatedJWT, domain.AuthClientSecretBasic}, GrantTypes: cc,
		TokenFormat: domain.FormatOpaque, Secrets: []domain.ClientSecret{{ID: "s", Hash: "plain$both-secret"}},
	})
	if trust.Issuer == "" {
		trust = application.FederatedIssuer{
			Issuer: fedIssuer, Audiences: []string{fedAud}, Algorithms: application.DefaultFederationAlgorithms, MaxLifetime: time.Hour,
			Mappings: []application.FederationMapping{
				{Client: "deployer", Subject: "system:serviceaccount:ci:runner", Claims: map[string]string{"ref": "refs/heads/main"}},
				{Client: "orders", Subject: "system:serviceaccount:shop:orders"},
				{Client: "both", Subject: "system:serviceaccount:shop:both"},
			},
		}
	}
	fed := application.NewFederation([]application.FederatedIssuer{trust}, s.tokens, clients, application.NewMemoryReplayGuard(s.clock, 100), s.clock)
	var err error
	s.auth, err = application.NewAuthenticateClient(clients, fakes.Hasher{}, s.clock, application.AssertionSupport{
		Verifier: fakes.AssertionVerifier{}, Box: fakes.Box{}, Replays: application.NewMemoryReplayGuard(s.clock, 100), Audiences: []string{fedAud},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.auth.Federate(fed)
	s.issue = application.NewIssueToken(s.auth, nil, nil, fakes.NewTokens(s.clock), s.clock, strings.NewReader(strings.Repeat("r", 4096)), fedAud)
	return s
}

// token registers a valid token of the trusted issuer, changed by edit,
// and returns its raw value.
func (s *federationSetup) token(edit func(*application.FederatedToken)) string {
	now := s.clock.Now()
	t := application.FederatedToken{
		Issuer: fedIssuer, Subject: "system:serviceaccount:shop:orders", Audience: []string{fedAud},
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(10 * time.Minute), ID: fmt.Sprint("jti-", len(s.tokens.Tokens)),
		Claims: map[string]string{},
	}
	if edit != nil {
		edit(&t)
	}
	// A value the assertion verifier reads the iss of, as it reads a JWT's.
	raw := fakes.Assertion{Claims: domain.ClientAssertion{Issuer: t.Issuer, ID: fmt.Sprint(len(s.tokens.Tokens))}}.Encode()
	s.tokens.Tokens[raw] = t
	return raw
}

func (s *federationSetup) assert(id, raw string) (domain.Client, error) {
	return s.auth.Handle(context.Background(), application.ClientCredentials{ID: id, Assertion: raw, AssertionType: application.AssertionTypeJWTBearer})
}

func wantReason(t *testing.T, err error, code *domain.Error, reason string) {
	t.Helper()
	var e *domain.Error
	if !errors.As(err, &e) || !errors.Is(err, code) || !strings.Contains(e.LogReason(), reason) {
		t.Fatalf("got %v (reason %q), want %s because %q", err, reasonOf(err), code.Code, reason)
	}
}

func reasonOf(err error) string {
	var e *domain.Error
	if errors.As(err, &e) {
		return e.LogReason()
	}
	return ""
}

func TestFederatedClaimChecks(t *testing.T) {
	s := newFederationSetup(t, application.FederatedIssuer{})
	now := s.clock.Now()
	cases := map[string]struct {
		edit   func(*application.FederatedToken)
		reason string
	}{
		"exp within the leeway": {func(t *application.FederatedToken) {
			t.ExpiresAt = now.Add(-20 * time.Second)
			t.IssuedAt = now.Add(-time.Minute)
		}, ""},
		"exp past the leeway": {func(t *application.FederatedToken) {
			t.ExpiresAt = now.Add(-time.Minute)
			t.IssuedAt = now.Add(-2 * time.Minute)
		}, "expired"},
		"nbf within the leeway":  {func(t *application.FederatedToken) { t.NotBefore = now.Add(20 * time.Second) }, ""},
		"iat in the future":      {func(t *application.FederatedToken) { t.IssuedAt = now.Add(time.Minute) }, "iat in the future"},
		"no iat, lifetime ok":    {func(t *application.FederatedToken) { t.IssuedAt = time.Time{} }, ""},
		"no iat, too long ahead": {func(t *application.FederatedToken) { t.IssuedAt = time.Time{}; t.ExpiresAt = now.Add(2 * time.Hour) }, "lifetime"},
		"old iat, long lifetime": {func(t *application.FederatedToken) { t.IssuedAt = now.Add(-50 * time.Hour) }, "lifetime"},
		"no sub":                 {func(t *application.FederatedToken) { t.Subject = "" }, "no sub"},
		"typ JWT":                {func(t *application.FederatedToken) { t.Type = "JWT" }, ""},
		"typ at+jwt":             {func(t *application.FederatedToken) { t.Type = "at+jwt" }, "typ"},
		"aud among several":      {func(t *application.FederatedToken) { t.Audience = []string{"https://other", fedAud} }, ""},
		"no jti is reusable":     {func(t *application.FederatedToken) { t.ID = "" }, ""},
		"claim rule not met": {func(t *application.FederatedToken) {
			t.Subject = "system:serviceaccount:ci:runner"
			t.Claims["ref"] = "refs/heads/dev"
		}, "no mapping"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := s.assert("", s.token(tc.edit))
			if tc.reason == "" {
				if err != nil || c.ID != "orders" {
					t.Fatalf("got %q, %v; want orders", c.ID, err)
				}
				return
			}
			wantReason(t, err, domain.ErrInvalidClient, tc.reason)
		})
	}
	t.Run("claim rule met", func(t *testing.T) {
		c, err := s.assert("", s.token(func(t *application.FederatedToken) {
			t.Subject = "system:serviceaccount:ci:runner"
			t.Claims["ref"] = "refs/heads/main"
		}))
		if err != nil || c.ID != "deployer" {
			t.Fatalf("got %q, %v", c.ID, err)
		}
	})
}

func TestFederatedTokenWithoutJTICanBeUsedAgainAndWithOneOnlyOnce(t *testing.T) {
	s := newFederationSetup(t, application.FederatedIssuer{})
	noJTI := s.token(func(t *application.FederatedToken) { t.ID = "" })
	for range 2 {
		if _, err := s.assert("", noJTI); err != nil {
			t.Fatal(err)
		}
	}
	once := s.token(nil)
	if _, err := s.assert("", once); err != nil {
		t.Fatal(err)
	}
	_, err := s.assert("", once)
	wantReason(t, err, domain.ErrInvalidClient, "jti replayed")
}

func TestFederatedIssuerMayAllowReuse(t *testing.T) {
	s := newFederationSetup(t, application.FederatedIssuer{
		Issuer: fedIssuer, Audiences: []string{fedAud}, Algorithms: application.DefaultFederationAlgorithms, MaxLifetime: time.Hour, AllowReuse: true,
		Mappings: []application.FederationMapping{{Client: "orders", Subject: "system:serviceaccount:shop:orders"}},
	})
	raw := s.token(nil)
	for range 3 {
		if _, err := s.assert("", raw); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFederatedAssertionWithAnotherClientIDIsRefused(t *testing.T) {
	s := newFederationSetup(t, application.FederatedIssuer{})
	_, err := s.assert("deployer", s.token(nil))
	wantReason(t, err, domain.ErrInvalidClient, "maps to another client")
	if c, err := s.assert("orders", s.token(nil)); err != nil || c.ID != "orders" {
		t.Fatalf("matching client_id: %q, %v", c.ID, err)
	}
}

func TestFederatedAlgorithmNotAllowedIsRefused(t *testing.T) {
	s := newFederationSetup(t, application.FederatedIssuer{})
	s.tokens.Alg = "HS256"
	_, err := s.assert("", s.token(nil))
	wantReason(t, err, domain.ErrInvalidClient, "algorithm HS256 not allowed")
}

func TestFederatedKeysUnavailableIsNotTheClientsFault(t *testing.T) {
	s := newFederationSetup(t, application.FederatedIssuer{})
	s.tokens.Err = fmt.Errorf("fetch jwks: %w", domain.ErrTemporarilyUnavailable)
	_, err := s.assert("", s.token(nil))
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) || errors.Is(err, domain.ErrInvalidClient) {
		t.Fatalf("got %v, want temporarily unavailable", err)
	}
}

func TestJWTBearerGrant(t *testing.T) {
	s := newFederationSetup(t, application.FederatedIssuer{})
	ctx := context.Background()
	grant := func(creds application.ClientCredentials, raw string) (application.IssuedToken, error) {
		return s.issue.Handle(ctx, application.IssueTokenInput{GrantType: application.GrantTypeJWTBearer, Assertion: raw, Credentials: creds})
	}
	if out, err := grant(application.ClientCredentials{}, s.token(nil)); err != nil || out.ClientID != "orders" || out.AccessToken == "" {
		t.Fatalf("grant: %+v, %v", out, err)
	}
	if _, err := grant(application.ClientCredentials{}, ""); !errors.Is(err, domain.ErrInvalidRequest) {
		t.Fatalf("no assertion: %v", err)
	}
	_, err := grant(application.ClientCredentials{}, s.token(func(t *application.FederatedToken) { t.Audience = []string{"https://elsewhere"} }))
	wantReason(t, err, domain.ErrInvalidGrant, "aud")
	_, err = grant(application.ClientCredentials{}, s.token(func(t *application.FederatedToken) { t.Issuer = "https://evil.example" }))
	wantReason(t, err, domain.ErrInvalidGrant, "issuer not configured")
	// Client authentication beside the grant (RFC 7523 §3.1) must be the
	// mapped client's.
	both := s.token(func(t *application.FederatedToken) { t.Subject = "system:serviceaccount:shop:both" })
	if out, err := grant(application.ClientCredentials{ID: "both", Secret: "both-secret", Method: domain.AuthClientSecretBasic}, both); err != nil || out.ClientID != "both" {
		t.Fatalf("grant with the mapped client's secret: %+v, %v", out, err)
	}
	_, err = grant(application.ClientCredentials{ID: "both", Secret: "both-secret", Method: domain.AuthClientSecretBasic}, s.token(nil))
	wantReason(t, err, domain.ErrInvalidGrant, "maps to another client")
}

func TestJWTBearerGrantWithoutFederationIsUnsupported(t *testing.T) {
	clock := fakes.NewClock(time.Unix(1_800_000_000, 0))
	auth, err := application.NewAuthenticateClient(fakes.NewClients(), fakes.Hasher{}, clock, application.AssertionSupport{})
	if err != nil {
		t.Fatal(err)
	}
	issue := application.NewIssueToken(auth, nil, nil, fakes.NewTokens(clock), clock, strings.NewReader(""), fedAud)
	_, err = issue.Handle(context.Background(), application.IssueTokenInput{GrantType: application.GrantTypeJWTBearer, Assertion: "x"})
	if !errors.Is(err, domain.ErrUnsupportedGrantType) {
		t.Fatalf("got %v, want unsupported_grant_type", err)
	}
}
