package application_test

import (
	"crypto/rand"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

var (
	uuidV4    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	base64url = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// The seed's first flow: service-client-jwt, client_secret_post, three scopes.
func TestIssueTokenSeedJWT(t *testing.T) {
	e := newEnv(t)
	got := e.issueToken(t, jwtClientID, jwtSecret, "country.read customer.read customer.write")

	if got.TokenType != "Bearer" {
		t.Errorf("token_type = %q, want Bearer", got.TokenType)
	}
	if got.ExpiresIn != 14400 {
		t.Errorf("expires_in = %d, want 14400", got.ExpiresIn)
	}
	if got.Scope != seedJWTScope {
		t.Errorf("scope = %q, want %q", got.Scope, seedJWTScope)
	}

	tok, err := e.verifier.VerifyAccessToken(t.Context(), got.AccessToken)
	if err != nil {
		t.Fatalf("issued JWT does not verify: %v", err)
	}
	if !application.LooksLikeJWT(got.AccessToken) {
		t.Errorf("access token %q does not look like a JWT", got.AccessToken)
	}
	if !strings.HasSuffix(got.AccessToken, "."+e.activeKey.ID) {
		t.Errorf("access token %q is not signed with the active key %s", got.AccessToken, e.activeKey.ID)
	}
	checkClaims(t, tok, jwtClientID, seedJWTScope)
	if tok.Format != domain.FormatJWT {
		t.Errorf("format = %q, want jwt", tok.Format)
	}
}

// The seed's second flow: user-client-opaque gets a reference token.
func TestIssueTokenSeedOpaque(t *testing.T) {
	e := newEnv(t)
	got := e.issueToken(t, opaqueClientID, opaqueSecret, "country.read")

	if got.TokenType != "Bearer" || got.ExpiresIn != 14400 || got.Scope != seedOpaqueScope {
		t.Errorf("response = %+v, want Bearer, 14400, %q", got, seedOpaqueScope)
	}
	// 256 random bits are 43 base64url characters without padding.
	if len(got.AccessToken) != 43 || !base64url.MatchString(got.AccessToken) {
		t.Errorf("opaque token %q: want 43 base64url characters", got.AccessToken)
	}
	if strings.Contains(got.AccessToken, ".") || application.LooksLikeJWT(got.AccessToken) {
		t.Errorf("opaque token %q contains a dot: resource servers would take it for a JWT", got.AccessToken)
	}

	tok, err := e.tokens.FindToken(t.Context(), got.AccessToken)
	if err != nil {
		t.Fatalf("opaque token not in the store: %v", err)
	}
	if tok.Value != got.AccessToken {
		t.Errorf("stored token value = %q, want %q", tok.Value, got.AccessToken)
	}
	checkClaims(t, tok, opaqueClientID, seedOpaqueScope)
	if tok.Format != domain.FormatOpaque {
		t.Errorf("format = %q, want opaque", tok.Format)
	}
}

// checkClaims checks what the seeds' JWT and introspection response carry,
// for a token issued at t0 to clientID.
func checkClaims(t *testing.T, tok domain.Token, clientID, scope string) {
	t.Helper()
	if tok.Issuer != issuer {
		t.Errorf("iss = %q, want %q", tok.Issuer, issuer)
	}
	if tok.Subject != clientID || tok.ClientID != clientID {
		t.Errorf("sub = %q, client_id = %q, want both %q", tok.Subject, tok.ClientID, clientID)
	}
	if !slices.Equal(tok.Audience, []string{clientID}) {
		t.Errorf("aud = %q, want [%q]", tok.Audience, clientID)
	}
	if !uuidV4.MatchString(tok.ID) {
		t.Errorf("jti = %q, want a random UUID", tok.ID)
	}
	if tok.Scopes.String() != scope {
		t.Errorf("scope = %q, want %q", tok.Scopes, scope)
	}
	if !tok.IssuedAt.Equal(t0) || !tok.NotBefore.Equal(t0) {
		t.Errorf("iat = %v, nbf = %v, want both %v", tok.IssuedAt, tok.NotBefore, t0)
	}
	if want := t0.Add(4 * time.Hour); !tok.ExpiresAt.Equal(want) {
		t.Errorf("exp = %v, want %v", tok.ExpiresAt, want)
	}
}

func TestIssueTokenTwiceGivesDifferentTokens(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name           string
		client, secret string
		find           func(t *testing.T, raw string) (domain.Token, error)
	}{
		{"jwt", jwtClientID, jwtSecret, func(t *testing.T, raw string) (domain.Token, error) {
			return e.verifier.VerifyAccessToken(t.Context(), raw)
		}},
		{"opaque", opaqueClientID, opaqueSecret, func(t *testing.T, raw string) (domain.Token, error) {
			return e.tokens.FindToken(t.Context(), raw)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.issueToken(t, tt.client, tt.secret, "")
			b := e.issueToken(t, tt.client, tt.secret, "")
			if a.AccessToken == b.AccessToken {
				t.Fatalf("two requests got the same access token %q", a.AccessToken)
			}
			ta, err := tt.find(t, a.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			tb, err := tt.find(t, b.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if ta.ID == tb.ID {
				t.Errorf("two tokens share jti %q", ta.ID)
			}
		})
	}
}

func TestIssueTokenDefaultScopes(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		client, secret, want string
	}{
		{jwtClientID, jwtSecret, seedJWTScope},
		{opaqueClientID, opaqueSecret, seedOpaqueScope},
	}
	for _, tt := range tests {
		t.Run(tt.client, func(t *testing.T) {
			for _, scope := range []string{"", "   "} {
				if got := e.issueToken(t, tt.client, tt.secret, scope); got.Scope != tt.want {
					t.Errorf("scope %q omitted: granted %q, want the defaults %q", scope, got.Scope, tt.want)
				}
			}
		})
	}
}

func TestIssueTokenNormalisesScope(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		requested, want string
	}{
		{"customer.write country.read", "country.read customer.write"},
		{"customer.read  customer.read", "customer.read"},
		{" customer.read customer.write country.read ", seedJWTScope},
	}
	for _, tt := range tests {
		t.Run(tt.requested, func(t *testing.T) {
			got := e.issueToken(t, jwtClientID, jwtSecret, tt.requested)
			if got.Scope != tt.want {
				t.Errorf("requested %q: scope = %q, want %q", tt.requested, got.Scope, tt.want)
			}
			tok, err := e.verifier.VerifyAccessToken(t.Context(), got.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if tok.Scopes.String() != tt.want {
				t.Errorf("requested %q: token scope = %q, want %q", tt.requested, tok.Scopes, tt.want)
			}
		})
	}
}

func TestIssueTokenRejects(t *testing.T) {
	e := newEnv(t)
	e.addClient(t, domain.Client{
		ID: "no-grant", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretPost},
		AllowedScopes: domain.NewScopes("country.read"), TokenFormat: domain.FormatOpaque,
	}, "no-grant-secret")

	tests := []struct {
		name string
		in   application.IssueTokenInput
		want *domain.Error
	}{
		{"missing grant_type",
			application.IssueTokenInput{Credentials: post(jwtClientID, jwtSecret), Scope: "country.read"},
			domain.ErrInvalidRequest},
		{"unsupported grant_type",
			application.IssueTokenInput{Credentials: post(jwtClientID, jwtSecret), GrantType: "password"},
			domain.ErrUnsupportedGrantType},
		{"grant_type differs in case",
			application.IssueTokenInput{Credentials: post(jwtClientID, jwtSecret), GrantType: "Client_Credentials"},
			domain.ErrUnsupportedGrantType},
		{"client without client_credentials",
			application.IssueTokenInput{Credentials: post("no-grant", "no-grant-secret"), GrantType: "client_credentials"},
			domain.ErrUnauthorizedClient},
		{"wrong secret",
			application.IssueTokenInput{Credentials: post(jwtClientID, "wrong"), GrantType: "client_credentials"},
			domain.ErrInvalidClient},
		{"disallowed scope",
			application.IssueTokenInput{Credentials: post(opaqueClientID, opaqueSecret), GrantType: "client_credentials", Scope: "country.read customer.write"},
			domain.ErrInvalidScope},
		{"scope with a double quote",
			application.IssueTokenInput{Credentials: post(jwtClientID, jwtSecret), GrantType: "client_credentials", Scope: `country.read "customer.read"`},
			domain.ErrInvalidScope},
		{"scope with a backslash",
			application.IssueTokenInput{Credentials: post(jwtClientID, jwtSecret), GrantType: "client_credentials", Scope: `country\read`},
			domain.ErrInvalidScope},
		{"scope with non-ASCII",
			application.IssueTokenInput{Credentials: post(jwtClientID, jwtSecret), GrantType: "client_credentials", Scope: "country.réad"},
			domain.ErrInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.issue.Handle(t.Context(), tt.in)
			wantOAuthError(t, err, tt.want)
			if got.AccessToken != "" {
				t.Errorf("rejected request still got access token %q", got.AccessToken)
			}
		})
	}
}

func TestIssueTokenDisallowedScopeIsNamed(t *testing.T) {
	e := newEnv(t)
	_, err := e.issue.Handle(t.Context(), application.IssueTokenInput{
		Credentials: post(opaqueClientID, opaqueSecret), GrantType: "client_credentials", Scope: "country.read customer.write",
	})
	oerr := wantOAuthError(t, err, domain.ErrInvalidScope)
	if !strings.Contains(oerr.Description, "customer.write") {
		t.Errorf("description %q does not name the disallowed scope customer.write", oerr.Description)
	}
}

func TestIssueTokenStoreFailure(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name  string
		issue *application.IssueToken
		in    application.ClientCredentials
	}{
		{"token store down",
			application.NewIssueToken(e.auth, e.ring, fakes.Signer{}, fakes.BrokenTokens{}, e.clock, rand.Reader, issuer),
			post(opaqueClientID, opaqueSecret)},
		{"client store down",
			application.NewIssueToken(newAuth(t, fakes.BrokenClients{}, fakes.Hasher{}), e.ring, fakes.Signer{}, e.tokens, e.clock, rand.Reader, issuer),
			post(jwtClientID, jwtSecret)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.issue.Handle(t.Context(), application.IssueTokenInput{Credentials: tt.in, GrantType: "client_credentials"})
			wantInfraError(t, err, fakes.ErrDown)
			if got.AccessToken != "" {
				t.Errorf("failed request still got access token %q", got.AccessToken)
			}
		})
	}
}

func TestIssueTokenWithoutActiveKey(t *testing.T) {
	e := newEnv(t)
	retired := e.activeKey
	retired.State = domain.KeyRetired
	e.ring.Set([]domain.SigningKey{retired})

	_, err := e.issue.Handle(t.Context(), application.IssueTokenInput{Credentials: post(jwtClientID, jwtSecret), GrantType: "client_credentials"})
	if err == nil {
		t.Fatal("issued a JWT with no active signing key")
	}
	var oerr *domain.Error
	if errors.As(err, &oerr) {
		t.Errorf("missing signing key answered the client with %s, want an internal error", oerr.Code)
	}
	// The gap a key revocation leaves until the reload is one to retry.
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Errorf("missing signing key: %v, want temporarily unavailable", err)
	}
	// The opaque client does not need a key.
	e.issueToken(t, opaqueClientID, opaqueSecret, "")
}

// RFC 8707 §2: the resources a token request names become the token's aud.
func TestIssueTokenResources(t *testing.T) {
	const other = "https://reports.example.com/api"
	e := newEnv(t)
	// An opaque client whose tokens may be meant for two resource servers.
	e.addClient(t, domain.Client{
		ID: "multi-resource", AuthMethods: []domain.AuthMethod{domain.AuthClientSecretPost}, GrantTypes: cc,
		AllowedScopes: countryRead, DefaultScopes: countryRead, TokenFormat: domain.FormatOpaque,
		Audience:  []string{"urn:sigil:default"},
		Resources: []string{application.DemoResource, other},
	}, "multi-secret")

	tests := []struct {
		name, client, secret string
		resources            []string
		want                 []string
	}{
		{"jwt, the demo resource", jwtClientID, jwtSecret, []string{application.DemoResource}, []string{application.DemoResource}},
		{"jwt, no resource", jwtClientID, jwtSecret, nil, []string{jwtClientID}},
		{"opaque, two resources", "multi-resource", "multi-secret", []string{other, application.DemoResource, other}, []string{application.DemoResource, other}},
		{"opaque, no resource is the configured audience", "multi-resource", "multi-secret", nil, []string{"urn:sigil:default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.issue.Handle(t.Context(), application.IssueTokenInput{
				Credentials: post(tt.client, tt.secret), GrantType: "client_credentials", Resources: tt.resources,
			})
			if err != nil {
				t.Fatalf("token request for %q: %v", tt.resources, err)
			}
			var tok domain.Token
			if application.LooksLikeJWT(got.AccessToken) {
				tok, err = e.verifier.VerifyAccessToken(t.Context(), got.AccessToken)
			} else {
				tok, err = e.tokens.FindToken(t.Context(), got.AccessToken)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tok.Audience, tt.want) {
				t.Errorf("resources %q: aud = %q, want %q", tt.resources, tok.Audience, tt.want)
			}
		})
	}
}

func TestIssueTokenInvalidTarget(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, client, secret string
		resources            []string
	}{
		{"resource the client may not ask for", jwtClientID, jwtSecret, []string{"https://elsewhere.example.com"}},
		{"client with no resources", opaqueClientID, opaqueSecret, []string{application.DemoResource}},
		{"one allowed, one not", jwtClientID, jwtSecret, []string{application.DemoResource, "https://elsewhere.example.com"}},
		{"relative", jwtClientID, jwtSecret, []string{"/ms-system"}},
		{"with a fragment", jwtClientID, jwtSecret, []string{application.DemoResource + "#x"}},
		{"empty", jwtClientID, jwtSecret, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.issue.Handle(t.Context(), application.IssueTokenInput{
				Credentials: post(tt.client, tt.secret), GrantType: "client_credentials", Resources: tt.resources,
			})
			wantOAuthError(t, err, domain.ErrInvalidTarget)
			if got.AccessToken != "" {
				t.Errorf("refused request still got access token %q", got.AccessToken)
			}
		})
	}
}
