package application_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

const (
	resourceURL = "https://api.example/ms-system/country/code/AUS"
	keyA        = "thumbprint-of-key-a"
	keyB        = "thumbprint-of-key-b"
)

// dpopEnv is the env with DPoP on both sides: proofs read by the fake,
// ids remembered in one replay guard both sides share, as Redis would.
type dpopEnv struct {
	*env
	guard  *fakes.Expiring
	check  *application.DPoPCheck
	bearer *application.AuthorizeBearer
}

func newDPoPEnv(t *testing.T) *dpopEnv {
	t.Helper()
	e := &dpopEnv{env: newEnv(t)}
	e.guard = fakes.NewExpiring(e.clock)
	e.check = application.NewDPoPCheck(fakes.DPoPProofs{}, e.guard, e.clock, time.Minute)
	e.issue.BindDPoP(e.check, tokenEndpoint)
	e.bearer = e.env.bearer()
	e.bearer.CheckDPoP(e.check)
	return e
}

// proofIDs numbers the proofs the tests make, each jti unique.
var proofIDs atomic.Int64

// proof is a good proof by key for a request to url with method, made
// now, for token (none at the token endpoint).
func (e *dpopEnv) proof(key, method, url, token string, change ...func(*domain.DPoPProof)) string {
	p := domain.DPoPProof{
		Algorithm: "ES256", JKT: key, ID: "jti-" + strconv.FormatInt(proofIDs.Add(1), 10),
		Method: method, URL: url, IssuedAt: e.clock.Now(),
	}
	if token != "" {
		p.AccessTokenHash = application.AccessTokenHash(token)
	}
	for _, c := range change {
		c(&p)
	}
	return fakes.DPoPProof{Proof: p}.Encode()
}

func (e *dpopEnv) issueDPoP(t *testing.T, client, secret string, proofs ...string) (application.IssuedToken, error) {
	t.Helper()
	return e.issue.Handle(t.Context(), application.IssueTokenInput{
		Credentials: post(client, secret), GrantType: "client_credentials", DPoPProofs: proofs, Method: "POST",
	})
}

func TestIssueTokenBindsTokensToTheProofsKey(t *testing.T) {
	for _, c := range []struct{ name, client, secret string }{
		{"jwt", jwtClientID, jwtSecret},
		{"opaque", opaqueClientID, opaqueSecret},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newDPoPEnv(t)
			out, err := e.issueDPoP(t, c.client, c.secret, e.proof(keyA, "POST", tokenEndpoint, ""))
			if err != nil {
				t.Fatalf("token request with a good proof: %v", err)
			}
			if out.TokenType != domain.TokenTypeDPoP {
				t.Errorf("token_type = %q, want DPoP", out.TokenType)
			}
			if tok := e.issued(t, out.AccessToken); tok.JKT != keyA {
				t.Errorf("token bound to %q, want %q", tok.JKT, keyA)
			}
			// Without a proof, the same client gets a bearer token.
			plain := e.issueToken(t, c.client, c.secret, "")
			if plain.TokenType != domain.TokenTypeBearer || e.issued(t, plain.AccessToken).JKT != "" {
				t.Errorf("without a proof: token_type %q, bound to %q", plain.TokenType, e.issued(t, plain.AccessToken).JKT)
			}
		})
	}
}

func TestIssueTokenRefusesBadProofs(t *testing.T) {
	e := newDPoPEnv(t)
	good := e.proof(keyA, "POST", tokenEndpoint, "")
	if _, err := e.issueDPoP(t, jwtClientID, jwtSecret, good); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		proofs []string
	}{
		{"replayed jti", []string{good}},
		{"two DPoP headers", []string{e.proof(keyA, "POST", tokenEndpoint, ""), e.proof(keyA, "POST", tokenEndpoint, "")}},
		{"wrong htm", []string{e.proof(keyA, "GET", tokenEndpoint, "")}},
		{"wrong htu", []string{e.proof(keyA, "POST", issuer+"/oauth2/introspect", "")}},
		{"stale iat", []string{e.proof(keyA, "POST", tokenEndpoint, "", func(p *domain.DPoPProof) { p.IssuedAt = p.IssuedAt.Add(-2 * time.Minute) })}},
		{"future iat", []string{e.proof(keyA, "POST", tokenEndpoint, "", func(p *domain.DPoPProof) { p.IssuedAt = p.IssuedAt.Add(2 * time.Minute) })}},
		{"bad signature", []string{fakes.DPoPProof{BadSignature: true}.Encode()}},
		{"not a JWT", []string{"garbage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.issueDPoP(t, jwtClientID, jwtSecret, tt.proofs...)
			wantOAuthError(t, err, domain.ErrInvalidDPoPProof)
		})
	}
}

func TestIssueTokenChecksTheClientBeforeTheProof(t *testing.T) {
	e := newDPoPEnv(t)
	proof := e.proof(keyA, "POST", tokenEndpoint, "")
	_, err := e.issueDPoP(t, jwtClientID, "wrong-secret", proof)
	wantOAuthError(t, err, domain.ErrInvalidClient)
	// The refused request did not use the proof up.
	if _, err := e.issueDPoP(t, jwtClientID, jwtSecret, proof); err != nil {
		t.Errorf("proof refused after a request that failed client authentication: %v", err)
	}
}

func TestDPoPBoundClientGetsNoBearerToken(t *testing.T) {
	e := newDPoPEnv(t)
	c, err := e.clients.FindClient(t.Context(), opaqueClientID)
	if err != nil {
		t.Fatal(err)
	}
	c.DPoPBound = true
	e.saveClient(t, c)

	_, err = e.issueDPoP(t, opaqueClientID, opaqueSecret)
	wantOAuthError(t, err, domain.ErrInvalidDPoPProof)
	out, err := e.issueDPoP(t, opaqueClientID, opaqueSecret, e.proof(keyA, "POST", tokenEndpoint, ""))
	if err != nil || out.TokenType != domain.TokenTypeDPoP {
		t.Errorf("with a proof: %v, token_type %q", err, out.TokenType)
	}
}

func TestAuthorizeDPoPBoundToken(t *testing.T) {
	for _, c := range []struct{ name, client, secret string }{
		{"jwt", jwtClientID, jwtSecret},
		{"opaque", opaqueClientID, opaqueSecret},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newDPoPEnv(t)
			out, err := e.issueDPoP(t, c.client, c.secret, e.proof(keyA, "POST", tokenEndpoint, ""))
			if err != nil {
				t.Fatal(err)
			}
			token := out.AccessToken
			authorize := func(in application.AuthorizeBearerInput) error {
				in.Token, in.Required, in.Method, in.URL = token, countryRead, "GET", resourceURL
				_, err := e.bearer.Handle(t.Context(), in)
				return err
			}
			good := e.proof(keyA, "GET", resourceURL, token)
			if err := authorize(application.AuthorizeBearerInput{DPoP: true, DPoPProofs: []string{good}}); err != nil {
				t.Fatalf("bound token with a good proof refused: %v", err)
			}

			refusals := []struct {
				name string
				in   application.AuthorizeBearerInput
				want *domain.Error
			}{
				{"as a bearer token", application.AuthorizeBearerInput{}, domain.ErrInvalidToken},
				{"as a bearer token with a proof", application.AuthorizeBearerInput{DPoPProofs: []string{e.proof(keyA, "GET", resourceURL, token)}}, domain.ErrInvalidToken},
				{"without a proof", application.AuthorizeBearerInput{DPoP: true}, domain.ErrInvalidDPoPProof},
				{"replayed proof", application.AuthorizeBearerInput{DPoP: true, DPoPProofs: []string{good}}, domain.ErrInvalidDPoPProof},
				{"proof of another key", application.AuthorizeBearerInput{DPoP: true, DPoPProofs: []string{e.proof(keyB, "GET", resourceURL, token)}}, domain.ErrInvalidToken},
				{"proof for another token", application.AuthorizeBearerInput{DPoP: true, DPoPProofs: []string{e.proof(keyA, "GET", resourceURL, "another-token")}}, domain.ErrInvalidDPoPProof},
				{"proof without ath", application.AuthorizeBearerInput{DPoP: true, DPoPProofs: []string{e.proof(keyA, "GET", resourceURL, "")}}, domain.ErrInvalidDPoPProof},
				{"proof for POST", application.AuthorizeBearerInput{DPoP: true, DPoPProofs: []string{e.proof(keyA, "POST", resourceURL, token)}}, domain.ErrInvalidDPoPProof},
				{"proof for another URL", application.AuthorizeBearerInput{DPoP: true, DPoPProofs: []string{e.proof(keyA, "GET", "https://api.example/ms-system/country", token)}}, domain.ErrInvalidDPoPProof},
				{"stale proof", application.AuthorizeBearerInput{DPoP: true, DPoPProofs: []string{e.proof(keyA, "GET", resourceURL, token, func(p *domain.DPoPProof) { p.IssuedAt = p.IssuedAt.Add(-61 * time.Second) })}}, domain.ErrInvalidDPoPProof},
			}
			for _, r := range refusals {
				t.Run(r.name, func(t *testing.T) {
					wantOAuthError(t, authorize(r.in), r.want)
				})
			}
		})
	}
}

func TestAuthorizeBearerTokenWithTheDPoPSchemeIsRefused(t *testing.T) {
	e := newDPoPEnv(t)
	token := e.issueToken(t, jwtClientID, jwtSecret, "").AccessToken
	_, err := e.bearer.Handle(t.Context(), application.AuthorizeBearerInput{
		Token: token, Required: countryRead, DPoP: true, Method: "GET", URL: resourceURL,
		DPoPProofs: []string{e.proof(keyA, "GET", resourceURL, token)},
	})
	wantOAuthError(t, err, domain.ErrInvalidToken)
}

func TestDPoPNonces(t *testing.T) {
	e := newDPoPEnv(t)
	nonces := application.NewDPoPNonces([]byte("a key every auth node holds"), time.Minute)
	e.check.RequireNonces(nonces)

	_, err := e.issueDPoP(t, jwtClientID, jwtSecret, e.proof(keyA, "POST", tokenEndpoint, ""))
	oerr := wantOAuthError(t, err, domain.ErrUseDPoPNonce)
	if oerr.Nonce == "" || !nonces.Valid(oerr.Nonce, e.clock.Now()) {
		t.Fatalf("use_dpop_nonce carries nonce %q", oerr.Nonce)
	}
	withNonce := func(n string) func(*domain.DPoPProof) { return func(p *domain.DPoPProof) { p.Nonce = n } }
	out, err := e.issueDPoP(t, jwtClientID, jwtSecret, e.proof(keyA, "POST", tokenEndpoint, "", withNonce(oerr.Nonce)))
	if err != nil {
		t.Fatalf("proof with the nonce refused: %v", err)
	}
	if out.DPoPNonce != "" {
		t.Errorf("a proof with the current nonce was answered with another, %q", out.DPoPNonce)
	}

	// Another node with the same key makes and accepts the same nonces.
	other := application.NewDPoPNonces([]byte("a key every auth node holds"), time.Minute)
	if !other.Valid(oerr.Nonce, e.clock.Now()) || other.Current(e.clock.Now()) != oerr.Nonce {
		t.Error("a node with the same key does not accept the nonce")
	}
	if application.NewDPoPNonces([]byte("another key"), time.Minute).Valid(oerr.Nonce, e.clock.Now()) {
		t.Error("a node with another key accepts the nonce")
	}
	// Nonces rotate: a step later the old one still passes, two steps
	// later it does not, and the current one is new.
	e.clock.Advance(time.Minute)
	if !nonces.Valid(oerr.Nonce, e.clock.Now()) || nonces.Current(e.clock.Now()) == oerr.Nonce {
		t.Error("one step later the nonce should still pass and a new one be current")
	}
	// A success with the step-old nonce hands the client the new one
	// (§8.2), before the old one runs out.
	out, err = e.issueDPoP(t, jwtClientID, jwtSecret, e.proof(keyA, "POST", tokenEndpoint, "", withNonce(oerr.Nonce)))
	if err != nil || out.DPoPNonce != nonces.Current(e.clock.Now()) {
		t.Errorf("success with the older nonce: %v, DPoP-Nonce %q, want the current %q", err, out.DPoPNonce, nonces.Current(e.clock.Now()))
	}
	e.clock.Advance(time.Minute)
	if nonces.Valid(oerr.Nonce, e.clock.Now()) {
		t.Error("two steps later the nonce still passes")
	}
	_, err = e.issueDPoP(t, jwtClientID, jwtSecret, e.proof(keyA, "POST", tokenEndpoint, "", withNonce(oerr.Nonce)))
	wantOAuthError(t, err, domain.ErrUseDPoPNonce)
}

func TestMemoryReplayGuardRefusesRatherThanForgets(t *testing.T) {
	clock := fakes.NewClock(t0)
	g := application.NewMemoryReplayGuard(clock, 2)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if first, err := g.FirstUse(ctx, id, t0.Add(time.Minute)); !first || err != nil {
			t.Fatalf("FirstUse(%s) = %v, %v", id, first, err)
		}
	}
	if _, err := g.FirstUse(ctx, "c", t0.Add(time.Minute)); err == nil {
		t.Error("a full guard recorded a third id")
	}
	if first, _ := g.FirstUse(ctx, "a", t0.Add(time.Minute)); first {
		t.Error("a full guard forgot a live id")
	}
	clock.Advance(time.Minute)
	if first, err := g.FirstUse(ctx, "c", t0.Add(2*time.Minute)); !first || err != nil {
		t.Errorf("after the ids expired: FirstUse = %v, %v", first, err)
	}
}
