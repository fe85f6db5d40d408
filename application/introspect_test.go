package application_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// introspectAsSeed asks about raw as the seed does: service-client-jwt's
// credentials with client_secret_post.
func (e *env) introspectAsSeed(t *testing.T, raw string) application.Introspection {
	t.Helper()
	got, err := e.introspect.Handle(t.Context(), application.IntrospectInput{
		Credentials: post(jwtClientID, jwtSecret),
		Token:       raw,
	})
	if err != nil {
		t.Fatalf("introspect %q: %v", raw, err)
	}
	return got
}

func TestIntrospectActive(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, client, secret, scope string
		format                      domain.TokenFormat
	}{
		// The seed's second flow introspects the opaque token.
		{"opaque", opaqueClientID, opaqueSecret, seedOpaqueScope, domain.FormatOpaque},
		{"jwt", jwtClientID, jwtSecret, seedJWTScope, domain.FormatJWT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issued := e.issueToken(t, tt.client, tt.secret, "")
			got := e.introspectAsSeed(t, issued.AccessToken)
			if !got.Active {
				t.Fatalf("freshly issued %s token is not active", tt.name)
			}
			checkClaims(t, got.Token, tt.client, tt.scope)
			if got.Token.Format != tt.format {
				t.Errorf("format = %q, want %q", got.Token.Format, tt.format)
			}
			if got.Token.Value != issued.AccessToken {
				t.Errorf("introspected value = %q, want the token asked about", got.Token.Value)
			}
		})
	}
}

func TestIntrospectInactive(t *testing.T) {
	foreignKey := domain.SigningKey{ID: "kid-not-in-ring", Algorithm: domain.RS256, State: domain.KeyActive}

	tests := []struct {
		name string
		// token returns the token to ask about, given a fresh env.
		token func(t *testing.T, e *env) string
	}{
		{"unknown opaque token", func(*testing.T, *env) string {
			return "fm8DH_ofCQnIhhbnoaMEN9SNZFYgAscQwmNpOLrsFLo"
		}},
		{"garbage", func(*testing.T, *env) string { return "not a token at all" }},
		{"garbage with two dots", func(*testing.T, *env) string { return "a.b.c" }},
		{"expired opaque token", func(t *testing.T, e *env) string {
			raw := e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken
			e.clock.Advance(4 * time.Hour)
			return raw
		}},
		{"expired jwt", func(t *testing.T, e *env) string {
			raw := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken
			e.clock.Advance(4 * time.Hour)
			return raw
		}},
		{"jwt signed with a kid not in the ring", func(t *testing.T, e *env) string {
			raw, err := fakes.Signer{}.SignAccessToken(t.Context(), foreignKey, domain.Token{
				Format: domain.FormatJWT, ID: "4df7aa1c-96be-4653-a7bd-fe34b5fcc51a", Issuer: issuer,
				Subject: jwtClientID, ClientID: jwtClientID, Scopes: domain.NewScopes("country.read"),
				Audience: []string{jwtClientID}, IssuedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(time.Hour),
			})
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			got := e.introspectAsSeed(t, tt.token(t, e))
			if got.Active {
				t.Errorf("introspection = active %+v, want inactive", got.Token)
			}
			// RFC 7662 §2.2: an inactive answer carries nothing else.
			if got.Token.ID != "" || got.Token.ClientID != "" || got.Token.Scopes != nil {
				t.Errorf("inactive introspection leaks token fields %+v", got.Token)
			}
		})
	}
}

// lazyTokens is a token store that forgets nothing, as a store whose
// expiry runs late (a TTL rounded up, a sweeper not yet run) behaves.
type lazyTokens struct{ m map[string]domain.Token }

func (s lazyTokens) SaveToken(_ context.Context, t domain.Token) error {
	s.m[t.Value] = t
	return nil
}

func (s lazyTokens) DeleteToken(_ context.Context, value string) error {
	delete(s.m, value)
	return nil
}

func (s lazyTokens) FindToken(_ context.Context, value string) (domain.Token, error) {
	t, ok := s.m[value]
	if !ok {
		return domain.Token{}, domain.ErrNotFound
	}
	return t, nil
}

// Expiry is not left to the store: a token past exp that the store still
// returns is inactive by the use case's own clock (RFC 7662 §2.2).
func TestIntrospectExpiredTokenTheStoreStillHas(t *testing.T) {
	e := newEnv(t)
	store := lazyTokens{m: map[string]domain.Token{}}
	issue := application.NewIssueToken(e.auth, e.ring, fakes.Signer{}, store, e.clock, rand.Reader, issuer)
	introspect := e.newIntrospect(store, e.verifier, e.denied)
	issued, err := issue.Handle(t.Context(), application.IssueTokenInput{Credentials: post(opaqueClientID, opaqueSecret), GrantType: "client_credentials"})
	if err != nil {
		t.Fatal(err)
	}
	ask := func() bool {
		t.Helper()
		got, err := introspect.Handle(t.Context(), application.IntrospectInput{Credentials: post(jwtClientID, jwtSecret), Token: issued.AccessToken})
		if err != nil {
			t.Fatal(err)
		}
		return got.Active
	}

	e.clock.Advance(4*time.Hour - time.Second)
	if !ask() {
		t.Fatal("token inactive one second before exp")
	}
	e.clock.Advance(time.Second)
	if ask() {
		t.Error("token still active at exp because the store still had it")
	}
}

func TestIntrospectRejects(t *testing.T) {
	e := newEnv(t)
	raw := e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken
	tests := []struct {
		name string
		in   application.IntrospectInput
		want *domain.Error
	}{
		// user-client-opaque may get tokens but not introspect them.
		{"caller not allowed to introspect", application.IntrospectInput{Credentials: post(opaqueClientID, opaqueSecret), Token: raw}, domain.ErrUnauthorizedClient},
		{"wrong caller secret", application.IntrospectInput{Credentials: post(jwtClientID, "wrong"), Token: raw}, domain.ErrInvalidClient},
		{"unknown caller", application.IntrospectInput{Credentials: post("no-such-client", jwtSecret), Token: raw}, domain.ErrInvalidClient},
		{"no caller credentials", application.IntrospectInput{Token: raw}, domain.ErrInvalidClient},
		{"missing token", application.IntrospectInput{Credentials: post(jwtClientID, jwtSecret)}, domain.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.introspect.Handle(t.Context(), tt.in)
			wantOAuthError(t, err, tt.want)
			if got.Active || got.Token.ClientID != "" {
				t.Errorf("rejected introspection still answered %+v", got)
			}
		})
	}
}

// A store or key source that is down must not make a valid token look
// revoked: the caller gets an internal error, not active=false.
func TestIntrospectInfrastructureFailure(t *testing.T) {
	e := newEnv(t)
	jwt := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken
	opaque := e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken
	tests := []struct {
		name       string
		introspect *application.Introspect
		token      string
	}{
		{"token store down", e.newIntrospect(fakes.BrokenTokens{}, e.verifier, e.denied), opaque},
		{"jwt verification impossible", e.newIntrospect(e.tokens, fakes.BrokenVerifier{}, e.denied), jwt},
		{"deny list down", e.newIntrospect(e.tokens, e.verifier, fakes.BrokenExpiring{}), jwt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.introspect.Handle(t.Context(), application.IntrospectInput{
				Credentials: post(jwtClientID, jwtSecret),
				Token:       tt.token,
			})
			wantInfraError(t, err, fakes.ErrDown)
			if got.Active {
				t.Errorf("introspection answered active with its dependency down")
			}
		})
	}
}

// A revoked JWT (its jti on the deny list) is inactive although its
// signature and exp are fine.
func TestIntrospectDeniedJWT(t *testing.T) {
	e := newEnv(t)
	raw := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken
	tok := e.issued(t, raw)
	other := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken

	if err := e.denied.Deny(t.Context(), tok.ID, tok.ExpiresAt); err != nil {
		t.Fatal(err)
	}
	if got := e.introspectAsSeed(t, raw); got.Active || got.Token.ID != "" {
		t.Errorf("denied JWT introspected as %+v, want inactive", got)
	}
	if !e.introspectAsSeed(t, other).Active {
		t.Errorf("denying one jti made another token of the client inactive")
	}
}

// readSignedIntrospection decodes what fakes.IntrospectionSigner made,
// and the kid it was signed with.
func readSignedIntrospection(t *testing.T, raw string) (application.SignedIntrospection, string) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || parts[0] != "introspection" {
		t.Fatalf("signed introspection %q is not from fakes.IntrospectionSigner", raw)
	}
	b, err := hex.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var si application.SignedIntrospection
	if err := json.Unmarshal(b, &si); err != nil {
		t.Fatal(err)
	}
	return si, parts[2]
}

// RFC 9701: on request the answer is also a JWT from the issuer to the
// client that asked, signed with the active key.
func TestIntrospectAsJWT(t *testing.T) {
	tests := []struct {
		name   string
		token  func(t *testing.T, e *env) string
		active bool
	}{
		{"active opaque", func(t *testing.T, e *env) string {
			return e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken
		}, true},
		{"active jwt", func(t *testing.T, e *env) string {
			return e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken
		}, true},
		{"unknown", func(*testing.T, *env) string { return "fm8DH_ofCQnIhhbnoaMEN9SNZFYgAscQwmNpOLrsFLo" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			raw := tt.token(t, e)
			e.clock.Advance(90 * time.Second) // the answer's iat is now, not the token's
			got, err := e.introspect.Handle(t.Context(), application.IntrospectInput{
				Credentials: post(jwtClientID, jwtSecret), Token: raw, AsJWT: true,
			})
			if err != nil {
				t.Fatalf("introspect as JWT: %v", err)
			}
			if got.Active != tt.active {
				t.Fatalf("active = %v, want %v", got.Active, tt.active)
			}
			if got.JWT == "" {
				t.Fatal("no signed answer though one was asked for")
			}
			si, kid := readSignedIntrospection(t, got.JWT)
			if kid != e.activeKey.ID {
				t.Errorf("signed with %q, want the active key %q", kid, e.activeKey.ID)
			}
			if si.Issuer != issuer {
				t.Errorf("iss = %q, want %q", si.Issuer, issuer)
			}
			if si.Audience != jwtClientID {
				t.Errorf("aud = %q, want the caller %q", si.Audience, jwtClientID)
			}
			if want := t0.Add(90 * time.Second); !si.IssuedAt.Equal(want) {
				t.Errorf("iat = %v, want the clock's %v", si.IssuedAt, want)
			}
			if si.Result.Active != tt.active {
				t.Errorf("signed answer says active = %v, want %v", si.Result.Active, tt.active)
			}
			if tt.active && (si.Result.Token.ID != got.Token.ID || si.Result.Token.ClientID != got.Token.ClientID ||
				si.Result.Token.Scopes.String() != got.Token.Scopes.String()) {
				t.Errorf("signed answer's token %+v differs from the plain answer's %+v", si.Result.Token, got.Token)
			}
			if !tt.active && (si.Result.Token.ID != "" || si.Result.Token.ClientID != "") {
				t.Errorf("signed inactive answer leaks token fields %+v", si.Result.Token)
			}
		})
	}
}

func TestIntrospectNotAsJWT(t *testing.T) {
	e := newEnv(t)
	raw := e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken
	if got := e.introspectAsSeed(t, raw); got.JWT != "" {
		t.Errorf("plain introspection carries a signed answer %q", got.JWT)
	}
}

// Without an active key a signed answer cannot be made: that is the
// server's fault, not the caller's. A plain answer still works.
func TestIntrospectAsJWTWithoutActiveKey(t *testing.T) {
	e := newEnv(t)
	raw := e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken
	retired := e.activeKey
	retired.State = domain.KeyRetired
	e.ring.Set([]domain.SigningKey{retired})

	got, err := e.introspect.Handle(t.Context(), application.IntrospectInput{
		Credentials: post(jwtClientID, jwtSecret), Token: raw, AsJWT: true,
	})
	if err == nil {
		t.Fatalf("signed an introspection with no active key: %+v", got)
	}
	var oerr *domain.Error
	if errors.As(err, &oerr) {
		t.Errorf("missing signing key answered the client with %s, want an internal error", oerr.Code)
	}
	if !e.introspectAsSeed(t, raw).Active {
		t.Error("plain introspection failed without an active key")
	}
}
