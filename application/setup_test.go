package application_test

import (
	"crypto/rand"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/fakes"
)

// The seed documents' clients, issuer and first iat; written out rather
// than read from application.DemoClients so the tests pin the seeds.
const (
	issuer = "http://localhost:8085/ms-auth-server"
	// tokenEndpoint is where client assertions are addressed (RFC 7523 §3).
	tokenEndpoint = issuer + "/oauth2/token"

	jwtClientID     = "service-client-jwt"
	jwtSecret       = "service-client-jwt-secret"
	opaqueClientID  = "user-client-opaque"
	opaqueSecret    = "user-client-secret"
	seedJWTScope    = "country.read customer.read customer.write"
	seedOpaqueScope = "country.read"
)

// t0 is the fake clock's starting instant: the iat of the seed's JWT.
var t0 = time.Unix(1682731659, 0).UTC()

// env is every use case of the authorization server wired to the fakes,
// with the seed's demo clients registered and one active signing key.
type env struct {
	clock    *fakes.Clock
	clients  *fakes.Clients
	tokens   *fakes.Tokens
	ring     *application.KeyRing
	hasher   *countingHasher
	verifier fakes.Verifier
	// denied holds revoked JWTs, replays used client assertions.
	denied, replays *fakes.Expiring
	// activeKey is the key the ring signs with.
	activeKey domain.SigningKey
	// events records what the authorization server tells other nodes;
	// revoked is a resource node's memory of revocations, fed by hand.
	events  *fakes.Events
	revoked *application.RevocationSet

	auth       *application.AuthenticateClient
	issue      *application.IssueToken
	introspect *application.Introspect
	revoke     *application.RevokeToken
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		clock:   fakes.NewClock(t0),
		clients: fakes.NewClients(),
		ring:    &application.KeyRing{},
		hasher:  &countingHasher{},
		events:  &fakes.Events{},
	}
	e.tokens = fakes.NewTokens(e.clock)
	e.denied = fakes.NewExpiring(e.clock)
	e.replays = fakes.NewExpiring(e.clock)
	e.verifier = fakes.Verifier{Keys: e.ring, Clock: e.clock}
	e.revoked = application.NewRevocationSet(e.clock)

	for _, d := range application.DemoClients() {
		e.addClient(t, d.Client, d.Secret)
	}

	k, err := (&fakes.KeyGenerator{}).GenerateSigningKey(domain.RS256)
	if err != nil {
		t.Fatalf("generate signing key: %v", err)
	}
	k.State = domain.KeyActive
	e.activeKey = k
	e.ring.Set([]domain.SigningKey{k})

	e.auth = newAuthWith(t, e.clients, e.hasher, e.clock, e.assertionSupport(fakes.AssertionVerifier{}))
	e.issue = application.NewIssueToken(e.auth, e.ring, fakes.Signer{}, e.tokens, e.clock, rand.Reader, issuer)
	e.introspect = e.newIntrospect(e.tokens, e.verifier, e.denied)
	e.revoke = application.NewRevokeToken(e.auth, e.tokens, e.verifier, e.denied, e.events)
	return e
}

// assertionSupport accepts assertions addressed to the issuer or the token
// endpoint, checked by v, replays remembered in e.replays.
func (e *env) assertionSupport(v application.ClientAssertionVerifier) application.AssertionSupport {
	return application.AssertionSupport{
		Verifier: v, Box: fakes.Box{}, Replays: e.replays, Audiences: []string{issuer, tokenEndpoint},
	}
}

// newIntrospect builds introspection over the env's keys and clock with
// the given token sources.
func (e *env) newIntrospect(store application.TokenStore, v application.AccessTokenVerifier, denied application.DenyList) *application.Introspect {
	return application.NewIntrospect(e.auth, store, v, denied, e.clock, e.ring, fakes.IntrospectionSigner{}, issuer)
}

// newAuth authenticates against clients at t0, with assertions checked
// by the fakes.
func newAuth(t *testing.T, clients application.ClientFinder, hasher application.SecretHasher) *application.AuthenticateClient {
	t.Helper()
	clock := fakes.NewClock(t0)
	return newAuthWith(t, clients, hasher, clock, application.AssertionSupport{
		Verifier: fakes.AssertionVerifier{}, Box: fakes.Box{}, Replays: fakes.NewExpiring(clock),
		Audiences: []string{issuer, tokenEndpoint},
	})
}

func newAuthWith(t *testing.T, clients application.ClientFinder, hasher application.SecretHasher, clock application.Clock, a application.AssertionSupport) *application.AuthenticateClient {
	t.Helper()
	auth, err := application.NewAuthenticateClient(clients, hasher, clock, a)
	if err != nil {
		t.Fatalf("NewAuthenticateClient: %v", err)
	}
	return auth
}

// addClient registers c with one secret, secret, of fake hash and no expiry.
func (e *env) addClient(t *testing.T, c domain.Client, secret string) {
	t.Helper()
	c.Secrets = []domain.ClientSecret{secretOf(t, "test", secret, time.Time{})}
	e.saveClient(t, c)
}

// saveClient registers c as it is.
func (e *env) saveClient(t *testing.T, c domain.Client) {
	t.Helper()
	if err := e.clients.SaveClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

// secretOf is a stored secret with the fake hash of secret.
func secretOf(t *testing.T, id, secret string, expires time.Time) domain.ClientSecret {
	t.Helper()
	hash, err := (fakes.Hasher{}).HashSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return domain.ClientSecret{ID: id, Hash: hash, ExpiresAt: expires}
}

// jwtSecretOf is secretOf also sealed with fakes.Box, as a secret of a
// client allowed client_secret_jwt is stored.
func jwtSecretOf(t *testing.T, id, secret string, expires time.Time) domain.ClientSecret {
	t.Helper()
	s := secretOf(t, id, secret, expires)
	var err error
	if s.Sealed, err = (fakes.Box{}).Seal([]byte(secret)); err != nil {
		t.Fatal(err)
	}
	return s
}

// issueToken runs a client_secret_post token request that must succeed.
func (e *env) issueToken(t *testing.T, clientID, secret, scope string) application.IssuedToken {
	t.Helper()
	got, err := e.issue.Handle(t.Context(), application.IssueTokenInput{
		Credentials: post(clientID, secret),
		GrantType:   "client_credentials",
		Scope:       scope,
	})
	if err != nil {
		t.Fatalf("issue token to %s: %v", clientID, err)
	}
	return got
}

// issued reads back what a token the env issued stands for: a JWT through
// the verifier, an opaque token from the store.
func (e *env) issued(t *testing.T, raw string) domain.Token {
	t.Helper()
	var (
		tok domain.Token
		err error
	)
	if application.LooksLikeJWT(raw) {
		tok, err = e.verifier.VerifyAccessToken(t.Context(), raw)
	} else {
		tok, err = e.tokens.FindToken(t.Context(), raw)
	}
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// post is credentials sent with client_secret_post, as in the seeds.
func post(id, secret string) application.ClientCredentials {
	return application.ClientCredentials{ID: id, Secret: secret, Method: domain.AuthClientSecretPost}
}

// wantOAuthError fails unless err is the OAuth error want (by code), and
// returns it for further checks.
func wantOAuthError(t *testing.T, err error, want *domain.Error) *domain.Error {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %s", err, want.Code)
	}
	var oerr *domain.Error
	if !errors.As(err, &oerr) {
		t.Fatalf("error %v matches %s but is no *domain.Error", err, want.Code)
	}
	return oerr
}

// wantInfraError fails unless err is an error that is no OAuth error at
// all, so the HTTP layer answers 500 and does not blame the client, and
// unless it still carries cause.
func wantInfraError(t *testing.T, err, cause error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one caused by %v", cause)
	}
	var oerr *domain.Error
	if errors.As(err, &oerr) {
		t.Fatalf("error %v is the OAuth error %s, want an internal error", err, oerr.Code)
	}
	if !errors.Is(err, cause) {
		t.Errorf("error %v does not wrap its cause %v", err, cause)
	}
}

// countingHasher is fakes.Hasher counting its calls, to see that a
// use case does (or does not) spend the hashing time.
type countingHasher struct {
	fakes.Hasher
	hashes, verifies atomic.Int64
	// gate, when set, holds every verification until it is closed.
	gate chan struct{}
}

func (h *countingHasher) HashSecret(secret string) (string, error) {
	h.hashes.Add(1)
	return h.Hasher.HashSecret(secret)
}

func (h *countingHasher) VerifySecret(hash, secret string) (bool, error) {
	h.verifies.Add(1)
	if h.gate != nil {
		<-h.gate
	}
	return h.Hasher.VerifySecret(hash, secret)
}

var _ application.SecretHasher = (*countingHasher)(nil)
