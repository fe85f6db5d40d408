package application

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// AssertionTypeJWTBearer is the client_assertion_type of a JWT client
// assertion (RFC 7523 §2.2).
const AssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// MaxAssertionLifetime bounds how far ahead a client assertion's exp may
// be, and so how long its jti must be remembered.
const MaxAssertionLifetime = time.Hour

// assertionLeeway allows for clock skew between client and server.
const assertionLeeway = 30 * time.Second

// ClientCredentials are what a client presented to authenticate itself:
// a secret (Method client_secret_basic or client_secret_post), or a JWT
// assertion (RFC 7523 §2.2), in which case Method is left empty and the
// assertion's signature tells client_secret_jwt from private_key_jwt.
type ClientCredentials struct {
	ID            string
	Secret        string
	Method        domain.AuthMethod
	Assertion     string
	AssertionType string
}

// errAuthFailed is the one answer to every secret failure, so the
// response does not tell an unknown client from a wrong secret.
var errAuthFailed = domain.ErrInvalidClient.With("client authentication failed")

// errAssertionFailed is the one answer to an assertion that is malformed,
// badly signed, or from an unknown client, for the same reason.
var errAssertionFailed = domain.ErrInvalidClient.With("client assertion is invalid")

// AuthenticateClient checks client credentials (RFC 6749 §2.3, RFC 7523
// §3).
type AuthenticateClient struct {
	clients    ClientFinder
	hasher     SecretHasher
	assertions ClientAssertionVerifier
	box        SecretBox
	replays    ReplayGuard
	clock      Clock
	// audiences are the values an assertion's aud may name: the issuer and
	// the URLs of the endpoints that authenticate clients.
	audiences []string
	// dummyHash is verified against when the client is unknown, so that
	// the answer takes as long as for a known client with a wrong secret.
	dummyHash string
	// verified, when set, spares repeated correct secrets the slow hash.
	verified *verifiedSecrets
}

// RememberVerified turns on the verified-credential cache: credentials
// that passed the slow hash are accepted for ttl at the cost of one HMAC,
// as long as the secret they matched is still one of the client's valid
// secrets. At most max credentials are remembered.
func (a *AuthenticateClient) RememberVerified(ttl time.Duration, max int) {
	if ttl > 0 && max > 0 {
		a.verified = newVerifiedSecrets(ttl, max)
	}
}

// AssertionSupport is what checking JWT client assertions takes. A zero
// value turns assertions off: every one is refused.
type AssertionSupport struct {
	Verifier ClientAssertionVerifier
	Box      SecretBox
	Replays  ReplayGuard
	// Audiences are the aud values accepted: the issuer and endpoint URLs.
	Audiences []string
}

// NewAuthenticateClient builds the use case; it hashes one throwaway secret.
func NewAuthenticateClient(clients ClientFinder, hasher SecretHasher, clock Clock, a AssertionSupport) (*AuthenticateClient, error) {
	dummy, err := hasher.HashSecret("sigil-timing-equaliser")
	if err != nil {
		return nil, fmt.Errorf("hash dummy secret: %w", err)
	}
	return &AuthenticateClient{
		clients: clients, hasher: hasher, clock: clock, dummyHash: dummy,
		assertions: a.Verifier, box: a.Box, replays: a.Replays, audiences: a.Audiences,
	}, nil
}

// Handle returns the authenticated client or an invalid_client error.
func (a *AuthenticateClient) Handle(ctx context.Context, in ClientCredentials) (domain.Client, error) {
	if in.Assertion != "" || in.AssertionType != "" {
		return a.byAssertion(ctx, in)
	}
	return a.bySecret(ctx, in)
}

func (a *AuthenticateClient) bySecret(ctx context.Context, in ClientCredentials) (domain.Client, error) {
	if in.ID == "" || in.Secret == "" {
		return domain.Client{}, errAuthFailed
	}
	c, err := a.clients.FindClient(ctx, in.ID)
	if errors.Is(err, domain.ErrNotFound) {
		_, _ = a.hasher.VerifySecret(a.dummyHash, in.Secret)
		return domain.Client{}, errAuthFailed
	}
	if err != nil {
		return domain.Client{}, fmt.Errorf("find client: %w", err)
	}
	now := a.clock.Now()
	secrets := c.ValidSecrets(now)
	var digest [32]byte
	if a.verified != nil {
		digest = a.verified.digest(c.ID, in.Secret)
		if hash, ok := a.verified.lookup(digest, now); ok && slices.ContainsFunc(secrets, func(s domain.ClientSecret) bool { return s.Hash == hash }) {
			return a.allowMethod(c, in.Method)
		}
	}
	if len(secrets) == 0 {
		// Pay the same hash as for a wrong secret.
		_, _ = a.hasher.VerifySecret(a.dummyHash, in.Secret)
		return domain.Client{}, errAuthFailed
	}
	verify := func() (string, error) { return a.verifySlow(c, secrets, in.Secret) }
	if a.verified == nil {
		if _, err := verify(); err != nil {
			return domain.Client{}, err
		}
		return a.allowMethod(c, in.Method)
	}
	// Requests with the same credentials that arrive together, as a
	// client's connection pool does after a restart, share one slow hash:
	// without this, each would run argon2id (tens of milliseconds and
	// megabytes of memory apiece) before the first could fill the cache.
	// Different secrets never share a run. A waiter takes a failure as its
	// own: its record may have gained a secret in the milliseconds since
	// the run began, but failing closed then costs the client one retry.
	matched, err := a.verified.share(digest, now, verify)
	if err == nil && !slices.ContainsFunc(secrets, func(s domain.ClientSecret) bool { return s.Hash == matched }) {
		// The shared run matched a secret this request's record of the
		// client no longer holds: check against this record.
		_, err = verify()
	}
	if err != nil {
		return domain.Client{}, err
	}
	return a.allowMethod(c, in.Method)
}

// verifySlow checks secret against each of the client's valid secrets
// with the slow hash and returns the stored hash it matched, or
// errAuthFailed. One unreadable stored hash must not lock out a client
// whose other secret is good; it is reported only if no secret matches.
func (a *AuthenticateClient) verifySlow(c domain.Client, secrets []domain.ClientSecret, secret string) (string, error) {
	var unreadable error
	for _, s := range secrets {
		ok, err := a.hasher.VerifySecret(s.Hash, secret)
		if err != nil && unreadable == nil {
			unreadable = fmt.Errorf("verify secret %q of client %q: %w", s.ID, c.ID, err)
		}
		if ok {
			return s.Hash, nil
		}
	}
	if unreadable != nil {
		return "", unreadable
	}
	return "", errAuthFailed
}

// allowMethod accepts a client whose credentials checked out, if it may
// use the method it used.
func (a *AuthenticateClient) allowMethod(c domain.Client, m domain.AuthMethod) (domain.Client, error) {
	if !c.AllowsAuthMethod(m) {
		return domain.Client{}, domain.ErrInvalidClient.With("client may not authenticate with " + string(m))
	}
	return c, nil
}

// byAssertion checks a JWT client assertion as RFC 7523 §3 lists.
func (a *AuthenticateClient) byAssertion(ctx context.Context, in ClientCredentials) (domain.Client, error) {
	if in.AssertionType != AssertionTypeJWTBearer {
		return domain.Client{}, domain.ErrInvalidClient.With("client_assertion_type must be " + AssertionTypeJWTBearer)
	}
	if in.Assertion == "" {
		return domain.Client{}, domain.ErrInvalidClient.With("client_assertion is required")
	}
	if a.assertions == nil {
		return domain.Client{}, domain.ErrInvalidClient.With("client assertions are not accepted")
	}
	iss, err := a.assertions.UnverifiedIssuer(in.Assertion)
	if err != nil {
		return domain.Client{}, assertionError("read client assertion", err)
	}
	// RFC 7523 §3 item 1 and RFC 6749 §2.3: a client_id sent beside the
	// assertion must name the same client.
	if in.ID != "" && in.ID != iss {
		return domain.Client{}, domain.ErrInvalidClient.With("client_id does not match the assertion's issuer")
	}
	c, err := a.clients.FindClient(ctx, iss)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Client{}, errAssertionFailed
	}
	if err != nil {
		return domain.Client{}, fmt.Errorf("find client: %w", err)
	}
	now := a.clock.Now()
	secrets, err := a.jwtSecrets(c, now)
	if err != nil {
		return domain.Client{}, err
	}
	claims, method, err := a.assertions.VerifyClientAssertion(ctx, c, secrets, in.Assertion)
	if err != nil {
		return domain.Client{}, assertionError("verify client assertion", err)
	}
	if !c.AllowsAuthMethod(method) {
		return domain.Client{}, domain.ErrInvalidClient.With("client may not authenticate with " + string(method))
	}
	if err := a.checkAssertionClaims(c, claims, now); err != nil {
		return domain.Client{}, err
	}
	first, err := a.replays.FirstUse(ctx, c.ID+" "+claims.ID, claims.ExpiresAt.Add(assertionLeeway))
	if err != nil {
		return domain.Client{}, fmt.Errorf("record client assertion: %w", err)
	}
	if !first {
		return domain.Client{}, domain.ErrInvalidClient.With("client assertion was already used")
	}
	return c, nil
}

// assertionError hides why an assertion was refused behind one answer;
// anything else (a JWKS that cannot be fetched) is passed on wrapped.
func assertionError(context string, err error) error {
	if errors.Is(err, domain.ErrInvalidClient) {
		return errAssertionFailed
	}
	return fmt.Errorf("%s: %w", context, err)
}

// jwtSecrets opens the client's valid client_secret_jwt secrets, if it
// may use that method.
func (a *AuthenticateClient) jwtSecrets(c domain.Client, now time.Time) ([][]byte, error) {
	if !c.AllowsAuthMethod(domain.AuthClientSecretJWT) {
		return nil, nil
	}
	var out [][]byte
	for _, s := range c.ValidSecrets(now) {
		if len(s.Sealed) == 0 {
			continue
		}
		plain, err := a.box.Open(s.Sealed)
		if err != nil {
			return nil, fmt.Errorf("open secret %q of client %q: %w", s.ID, c.ID, err)
		}
		out = append(out, plain)
	}
	return out, nil
}

// checkAssertionClaims applies RFC 7523 §3 items 1 to 7.
func (a *AuthenticateClient) checkAssertionClaims(c domain.Client, t domain.ClientAssertion, now time.Time) error {
	fail := func(why string) error { return domain.ErrInvalidClient.With("client assertion " + why) }
	switch {
	case t.Issuer != c.ID || t.Subject != c.ID:
		return fail("must have iss and sub equal to the client id")
	case !slices.ContainsFunc(t.Audience, func(aud string) bool { return slices.Contains(a.audiences, aud) }):
		return fail("is not addressed to this authorization server")
	case t.ExpiresAt.IsZero():
		return fail("has no exp")
	case !now.Add(-assertionLeeway).Before(t.ExpiresAt):
		return fail("has expired")
	case t.ExpiresAt.After(now.Add(MaxAssertionLifetime + assertionLeeway)):
		return fail("expires too far in the future")
	case !t.NotBefore.IsZero() && now.Add(assertionLeeway).Before(t.NotBefore):
		return fail("is not valid yet")
	case !t.IssuedAt.IsZero() && now.Add(assertionLeeway).Before(t.IssuedAt):
		return fail("was issued in the future")
	case t.ID == "":
		return fail("has no jti")
	}
	return nil
}
