package application_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// revokeAs revokes raw with client_secret_post credentials.
func (e *env) revokeAs(t *testing.T, clientID, secret, raw string) error {
	t.Helper()
	return e.revoke.Handle(t.Context(), application.RevokeInput{Credentials: post(clientID, secret), Token: raw})
}

// The seed's opaque token, revoked by the client it was issued to, is gone
// (RFC 7009 §2.2).
func TestRevokeOpaqueToken(t *testing.T) {
	e := newEnv(t)
	raw := e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken
	other := e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken

	if err := e.revokeAs(t, opaqueClientID, opaqueSecret, raw); err != nil {
		t.Fatalf("owner revoking its token: %v", err)
	}
	if _, err := e.tokens.FindToken(t.Context(), raw); err == nil {
		t.Error("revoked token is still in the store")
	}
	if e.introspectAsSeed(t, raw).Active {
		t.Error("revoked token introspects as active")
	}
	if !e.introspectAsSeed(t, other).Active {
		t.Error("revoking one token made another token of the client inactive")
	}
}

// A JWT cannot be taken back from its holder; its jti is denied until it
// expires, so introspection calls it inactive meanwhile.
func TestRevokeJWT(t *testing.T) {
	e := newEnv(t)
	raw := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken
	tok := e.issued(t, raw)
	other := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken

	if err := e.revokeAs(t, jwtClientID, jwtSecret, raw); err != nil {
		t.Fatalf("owner revoking its token: %v", err)
	}
	if e.introspectAsSeed(t, raw).Active {
		t.Error("revoked JWT introspects as active")
	}
	if !e.introspectAsSeed(t, other).Active {
		t.Error("revoking one JWT made another of the client inactive")
	}
	denied := func() bool {
		t.Helper()
		d, err := e.denied.IsDenied(t.Context(), tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if !denied() {
		t.Fatal("revoked JWT's jti is not on the deny list")
	}
	// Denied exactly until the token's own exp: no sooner (it would come
	// back to life), no later (the list would only grow).
	e.clock.Advance(tok.ExpiresAt.Sub(e.clock.Now()) - time.Second)
	if !denied() {
		t.Error("jti left the deny list a second before the token expires")
	}
	if e.introspectAsSeed(t, raw).Active {
		t.Error("revoked JWT introspects as active a second before exp")
	}
	e.clock.Advance(time.Second)
	if denied() {
		t.Error("jti still denied once the token expired")
	}
	if e.introspectAsSeed(t, raw).Active {
		t.Error("revoked JWT introspects as active after exp")
	}
}

// RFC 7009 §2.1: the server checks the token was issued to the client
// asking; one client cannot revoke another's token.
func TestRevokeOtherClientsToken(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name                 string
		owner, ownerSecret   string
		caller, callerSecret string
	}{
		{"opaque token", opaqueClientID, opaqueSecret, jwtClientID, jwtSecret},
		{"jwt", jwtClientID, jwtSecret, opaqueClientID, opaqueSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := e.issueToken(t, tt.owner, tt.ownerSecret, "").AccessToken
			err := e.revokeAs(t, tt.caller, tt.callerSecret, raw)
			wantOAuthError(t, err, domain.ErrUnauthorizedClient)
			if !e.introspectAsSeed(t, raw).Active {
				t.Error("another client's revocation made the token inactive")
			}
		})
	}
}

// RFC 7009 §2.2: an invalid token is answered with success, so the client
// need not handle it.
func TestRevokeUnknownTokenSucceeds(t *testing.T) {
	tests := []struct {
		name  string
		token func(t *testing.T, e *env) string
	}{
		{"unknown opaque token", func(*testing.T, *env) string { return "fm8DH_ofCQnIhhbnoaMEN9SNZFYgAscQwmNpOLrsFLo" }},
		{"garbage", func(*testing.T, *env) string { return "not a token at all" }},
		{"garbage with two dots", func(*testing.T, *env) string { return "a.b.c" }},
		{"expired jwt", func(t *testing.T, e *env) string {
			raw := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken
			e.clock.Advance(4 * time.Hour)
			return raw
		}},
		{"already revoked opaque token", func(t *testing.T, e *env) string {
			raw := e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken
			if err := e.revokeAs(t, opaqueClientID, opaqueSecret, raw); err != nil {
				t.Fatal(err)
			}
			return raw
		}},
		{"already revoked jwt", func(t *testing.T, e *env) string {
			raw := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken
			if err := e.revokeAs(t, jwtClientID, jwtSecret, raw); err != nil {
				t.Fatal(err)
			}
			return raw
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			for _, c := range []struct{ id, secret string }{{jwtClientID, jwtSecret}, {opaqueClientID, opaqueSecret}} {
				if err := e.revokeAs(t, c.id, c.secret, tt.token(t, e)); err != nil {
					t.Errorf("revocation by %s = %v, want success", c.id, err)
				}
			}
		})
	}
}

func TestRevokeRejects(t *testing.T) {
	e := newEnv(t)
	raw := e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken
	tests := []struct {
		name string
		in   application.RevokeInput
		want *domain.Error
	}{
		{"missing token", application.RevokeInput{Credentials: post(opaqueClientID, opaqueSecret)}, domain.ErrInvalidRequest},
		{"wrong secret", application.RevokeInput{Credentials: post(opaqueClientID, "wrong"), Token: raw}, domain.ErrInvalidClient},
		{"unknown client", application.RevokeInput{Credentials: post("no-such-client", opaqueSecret), Token: raw}, domain.ErrInvalidClient},
		{"no credentials", application.RevokeInput{Token: raw}, domain.ErrInvalidClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOAuthError(t, e.revoke.Handle(t.Context(), tt.in), tt.want)
			if !e.introspectAsSeed(t, raw).Active {
				t.Fatal("a refused revocation made the token inactive")
			}
		})
	}
}

// undeletableTokens finds tokens but cannot delete them.
type undeletableTokens struct{ *fakes.Tokens }

func (undeletableTokens) DeleteToken(context.Context, string) error { return fakes.ErrDown }

// A store that is down must not look like a successful revocation.
func TestRevokeInfrastructureFailure(t *testing.T) {
	e := newEnv(t)
	jwt := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken
	opaque := e.issueToken(t, opaqueClientID, opaqueSecret, "").AccessToken
	tests := []struct {
		name   string
		revoke *application.RevokeToken
		caller string
		secret string
		token  string
	}{
		{"token store down",
			application.NewRevokeToken(e.auth, fakes.BrokenTokens{}, e.verifier, e.denied, e.events), opaqueClientID, opaqueSecret, opaque},
		{"token cannot be deleted",
			application.NewRevokeToken(e.auth, undeletableTokens{e.tokens}, e.verifier, e.denied, e.events), opaqueClientID, opaqueSecret, opaque},
		{"deny list down",
			application.NewRevokeToken(e.auth, e.tokens, e.verifier, fakes.BrokenExpiring{}, e.events), jwtClientID, jwtSecret, jwt},
		{"jwt verification impossible",
			application.NewRevokeToken(e.auth, e.tokens, fakes.BrokenVerifier{}, e.denied, e.events), jwtClientID, jwtSecret, jwt},
		{"client store down",
			application.NewRevokeToken(newAuth(t, fakes.BrokenClients{}, fakes.Hasher{}), e.tokens, e.verifier, e.denied, e.events), opaqueClientID, opaqueSecret, opaque},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.revoke.Handle(t.Context(), application.RevokeInput{Credentials: post(tt.caller, tt.secret), Token: tt.token})
			wantInfraError(t, err, fakes.ErrDown)
		})
	}
}

// Every revocation is announced on the feed with the token's jti and exp,
// and the jti is denied for both formats, so a resource node that missed
// the message catches up from the deny list.
func TestRevokePublishesRevocation(t *testing.T) {
	tests := []struct {
		name, client, secret string
	}{
		{"jwt", jwtClientID, jwtSecret},
		{"opaque", opaqueClientID, opaqueSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			raw := e.issueToken(t, tt.client, tt.secret, "").AccessToken
			tok := e.issued(t, raw)
			if tok.ID == "" || tok.ExpiresAt.IsZero() {
				t.Fatalf("issued token has no jti or exp: %+v", tok)
			}
			e.issueToken(t, tt.client, tt.secret, "") // another token, not revoked

			if err := e.revokeAs(t, tt.client, tt.secret, raw); err != nil {
				t.Fatal(err)
			}
			want := domain.Event{Kind: domain.EventRevoked, JTI: tok.ID, ExpiresAt: tok.ExpiresAt}
			if got := e.events.Published(); len(got) != 1 || !sameEvent(got[0], want) {
				t.Errorf("published %+v, want only %+v", got, want)
			}
			if denied, err := e.denied.IsDenied(t.Context(), tok.ID); err != nil || !denied {
				t.Errorf("jti on the deny list = %v (%v), want true", denied, err)
			}
			listed, err := e.denied.ListDenied(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(listed) != 1 || !sameEvent(listed[0], want) {
				t.Errorf("deny list holds %+v, want only %+v", listed, want)
			}
		})
	}
}

func sameEvent(a, b domain.Event) bool {
	return a.Kind == b.Kind && a.JTI == b.JTI && a.KID == b.KID && a.ClientID == b.ClientID && a.ExpiresAt.Equal(b.ExpiresAt)
}

// Nothing is announced when nothing was revoked.
func TestRevokeRefusedOrUnknownPublishesNothing(t *testing.T) {
	e := newEnv(t)
	other := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken
	if err := e.revokeAs(t, opaqueClientID, opaqueSecret, other); err == nil {
		t.Fatal("revoking another client's token succeeded")
	}
	if err := e.revokeAs(t, opaqueClientID, opaqueSecret, "fm8DH_ofCQnIhhbnoaMEN9SNZFYgAscQwmNpOLrsFLo"); err != nil {
		t.Fatal(err)
	}
	if got := e.events.Published(); len(got) != 0 {
		t.Errorf("published %+v, want nothing", got)
	}
}

// A feed that is down fails the request (the client may retry), but the
// deny-list entry was written first: a resource node catching up from it
// refuses the token all the same.
func TestRevokePublishFailure(t *testing.T) {
	errFeed := errors.New("feed unreachable")
	for _, c := range []struct{ name, client, secret string }{
		{"jwt", jwtClientID, jwtSecret},
		{"opaque", opaqueClientID, opaqueSecret},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.events.Err = errFeed
			raw := e.issueToken(t, c.client, c.secret, "").AccessToken
			// What a resource node saw before the revocation: for an opaque
			// token, a cached introspection.
			tok, err := e.bearer().Handle(t.Context(), application.AuthorizeBearerInput{Token: raw})
			if err != nil {
				t.Fatal(err)
			}

			wantInfraError(t, e.revokeAs(t, c.client, c.secret, raw), errFeed)
			if denied, err := e.denied.IsDenied(t.Context(), tok.ID); err != nil || !denied {
				t.Fatalf("jti on the deny list = %v (%v), want true", denied, err)
			}

			node := application.NewRevocationSet(e.clock)
			if n, err := node.CatchUp(t.Context(), e.denied); err != nil || n != 1 {
				t.Fatalf("CatchUp = %d, %v; want 1 entry", n, err)
			}
			bearer := application.NewAuthorizeBearer(e.verifier, cachedIntrospection{tok}, node, "")
			_, err = bearer.Handle(t.Context(), application.AuthorizeBearerInput{Token: raw})
			if oerr := wantOAuthError(t, err, domain.ErrInvalidToken); oerr.Description != "the token was revoked" {
				t.Errorf("refused with %q, want the revocation named", oerr.Description)
			}
		})
	}
}

// cachedIntrospection answers every opaque token with the one token it
// remembers, as a resource node's introspection cache would.
type cachedIntrospection struct{ tok domain.Token }

func (c cachedIntrospection) IntrospectToken(context.Context, string) (domain.Token, error) {
	return c.tok, nil
}

// On a single node the revocation set is the feed: a revocation reaches
// the bearer check at once.
func TestRevokeSingleNodeFeed(t *testing.T) {
	e := newEnv(t)
	revoke := application.NewRevokeToken(e.auth, e.tokens, e.verifier, e.denied, e.revoked)
	raw := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken
	other := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken
	if _, err := e.bearer().Handle(t.Context(), application.AuthorizeBearerInput{Token: raw}); err != nil {
		t.Fatal(err)
	}
	if err := revoke.Handle(t.Context(), application.RevokeInput{Credentials: post(jwtClientID, jwtSecret), Token: raw}); err != nil {
		t.Fatal(err)
	}
	_, err := e.bearer().Handle(t.Context(), application.AuthorizeBearerInput{Token: raw})
	wantOAuthError(t, err, domain.ErrInvalidToken)
	if _, err := e.bearer().Handle(t.Context(), application.AuthorizeBearerInput{Token: other}); err != nil {
		t.Errorf("another token refused after one revocation: %v", err)
	}
}
