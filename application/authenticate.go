package application

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
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
	// Address is where the request came from, for the failure throttle;
	// the zero Addr when unknown.
	Address netip.Addr
	// Endpoint is where the client authenticates, for its request limit.
	Endpoint Endpoint
	// Certificate is the TLS client certificate the request came with
	// (RFC 8705), nil without one.
	Certificate *domain.ClientCertificate
}

// errAuthFailed is the one answer to every secret failure, so the
// response does not tell an unknown client from a wrong secret.
var errAuthFailed = domain.ErrInvalidClient.With("client authentication failed")

// The same answer, with the reason the log gives (domain.Error.Reason).
var (
	errNoCredentials = errAuthFailed.Because("no client id or secret")
	errUnknownClient = errAuthFailed.Because("unknown client")
	errWrongSecret   = errAuthFailed.Because("wrong secret")
	errExpiredSecret = errAuthFailed.Because("expired secret")
	errNoSecret      = errAuthFailed.Because("client has no secret")
)

// errAssertionFailed is the one answer to an assertion that is malformed,
// badly signed, or from an unknown client, for the same reason.
var errAssertionFailed = domain.ErrInvalidClient.With("client assertion is invalid")

var errAssertionUnknownClient = errAssertionFailed.Because("unknown client")

// AuthenticateClient checks client credentials (RFC 6749 §2.3, RFC 7523
// §3).
type AuthenticateClient struct {
	traced
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
	// slots, throttle and the request limits: see Defend.
	slots    *HashSlots
	throttle *FailureThrottle
	limiter  RateLimiter
	limits   RequestLimits
	hold     time.Duration
	// federation, when set, takes the assertions of trusted external
	// issuers (see Federate).
	federation *Federation
	// mtls and certKeys: see AcceptCertificates.
	mtls     bool
	certKeys CertificateKeys
}

// Federate turns on federated client authentication: an assertion whose
// iss is one of f's issuers is judged by f, never by a client's keys.
func (a *AuthenticateClient) Federate(f *Federation) { a.federation = f }

// Defences are what keeps the slow hash from being turned against the
// server, and clients from sending more than their share. Any may be left
// out.
type Defences struct {
	// Slots bounds the slow hashes running at once.
	Slots *HashSlots
	// Throttle limits uncached attempts per id and address.
	Throttle *FailureThrottle
	// Limiter counts the request limits.
	Limiter RateLimiter
	Limits  RequestLimits
	// Hold is how long a refusal for failed authentications is held
	// before it is answered (never longer than its retry-after): a client
	// that ignores Retry-After then gets at most one answer per hold and
	// connection, and a flood costs sleeping goroutines instead of CPU.
	Hold time.Duration
}

// Defend turns the defences on. Credentials the verified-credential cache
// knows are judged before any of them but the request limits: an attacker
// cannot make the server refuse a client whose secret it already checked.
func (a *AuthenticateClient) Defend(d Defences) {
	a.slots, a.throttle, a.hold = d.Slots, d.Throttle, d.Hold
	if d.Limiter != nil && d.Limits.any() {
		a.limiter, a.limits = d.Limiter, d.Limits
	}
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

// Handle returns the authenticated client or an invalid_client error;
// with Defend, also a *domain.Throttled error.
func (a *AuthenticateClient) Handle(ctx context.Context, in ClientCredentials) (_ domain.Client, err error) {
	ctx, end := a.span(ctx, "AuthenticateClient")
	defer func() { end(err) }()

	var c domain.Client
	if in.ByCertificate() {
		c, err = a.byCertificate(ctx, in)
	} else if in.Assertion != "" || in.AssertionType != "" {
		c, err = a.byAssertion(ctx, in)
	} else {
		c, err = a.bySecret(ctx, in)
	}
	if err != nil {
		return domain.Client{}, err
	}
	if err := a.limitRequests(ctx, c.ID, in.Endpoint); err != nil {
		return domain.Client{}, err
	}
	return c, nil
}

// limitRequests applies the client's request limit at the endpoint. A
// limiter that fails lets the request through: the limits are there to
// share the server fairly, not to stop it when Redis is down.
func (a *AuthenticateClient) limitRequests(ctx context.Context, id string, e Endpoint) error {
	if a.limiter == nil {
		return nil
	}
	limit, name := a.limits.of(e)
	if !limit.On() {
		return nil
	}
	d, err := a.limiter.Allow(ctx, "rate:"+name+":"+hashed(id), limit)
	if err != nil || d.Allowed {
		return nil
	}
	return &domain.Throttled{Reason: domain.ThrottledRate, RetryAfter: d.RetryAfter}
}

func (a *AuthenticateClient) bySecret(ctx context.Context, in ClientCredentials) (domain.Client, error) {
	if in.ID == "" || in.Secret == "" {
		return domain.Client{}, errNoCredentials
	}
	now := a.clock.Now()
	var (
		digest [32]byte
		c      domain.Client
		found  bool
	)
	if a.verified != nil {
		// The verified-credential cache first, before the throttle and the
		// hash slots: a client whose secret was checked keeps its full
		// throughput whatever is sent for its id or from elsewhere.
		digest = a.verified.digest(in.ID, in.Secret)
		if hash, ok := a.verified.lookup(digest, now); ok {
			var err error
			c, err = a.clients.FindClient(ctx, in.ID)
			switch {
			case err == nil:
				found = true
				if slices.ContainsFunc(c.ValidSecrets(now), func(s domain.ClientSecret) bool { return s.Hash == hash }) {
					return a.allowMethod(c, in.Method)
				}
			case !errors.Is(err, domain.ErrNotFound):
				return domain.Client{}, fmt.Errorf("find client: %w", err)
			}
		}
	}
	// Refused already: answer without a lookup, a count or a hash.
	if err := a.throttle.refusedNow(ctx, in.ID, in.Address); err != nil {
		a.holdRefusal(ctx, err)
		return domain.Client{}, err
	}
	if !found {
		var err error
		c, err = a.clients.FindClient(ctx, in.ID)
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Client{}, a.failSlowly(ctx, in, errUnknownClient)
		}
		if err != nil {
			return domain.Client{}, fmt.Errorf("find client: %w", err)
		}
	}
	secrets := c.ValidSecrets(now)
	if len(secrets) == 0 {
		// Pay the same hash as for a wrong secret.
		refusal := errExpiredSecret
		if len(c.Secrets) == 0 {
			refusal = errNoSecret
		}
		return domain.Client{}, a.failSlowly(ctx, in, refusal)
	}
	verify := func() (string, error) {
		var (
			matched string
			err     error
		)
		if slotErr := a.slots.run(ctx, func() bool {
			matched, err = a.verifySlow(c, secrets, in.Secret)
			return err != nil
		}); slotErr != nil {
			return "", slotErr
		}
		switch {
		case err == nil:
			a.throttle.succeeded(ctx, in.ID, in.Address)
		case errors.Is(err, errAuthFailed):
			a.throttle.failed(ctx, in.ID, in.Address)
		}
		return matched, err
	}
	if a.verified == nil {
		if _, err := verify(); err != nil {
			return domain.Client{}, err
		}
		return a.allowMethod(c, in.Method)
	}
	// Requests with the same credentials that arrive together, as a
	// client's connection pool does after a restart, share one slow hash
	// (and count once against the throttle): without this, each would run
	// argon2id (tens of milliseconds and megabytes of memory apiece)
	// before the first could fill the cache. Different secrets never
	// share a run. A waiter takes a failure as its own: its record may
	// have gained a secret in the milliseconds since the run began, but
	// failing closed then costs the client one retry.
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

// holdRefusal waits before a throttle refusal is answered; see
// Defences.Hold.
func (a *AuthenticateClient) holdRefusal(ctx context.Context, err error) {
	var t *domain.Throttled
	if a.hold <= 0 || !errors.As(err, &t) {
		return
	}
	wait := min(a.hold, t.RetryAfter)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		// Tell the caller what is left of the wait.
		t.RetryAfter -= wait
	case <-ctx.Done():
	}
}

// failSlowly refuses credentials for an unknown client, or one without a
// valid secret, after the same slow hash and the same count as a wrong
// secret, so neither the answer nor its time tells the cases apart, and
// guessing ids costs what guessing secrets does. refusal is errAuthFailed
// with the reason for the log.
func (a *AuthenticateClient) failSlowly(ctx context.Context, in ClientCredentials, refusal error) error {
	if err := a.slots.run(ctx, func() bool {
		_, _ = a.hasher.VerifySecret(a.dummyHash, in.Secret)
		return true
	}); err != nil {
		return err
	}
	a.throttle.failed(ctx, in.ID, in.Address)
	return refusal
}

// verifySlow checks secret against each of the client's valid secrets
// with the slow hash and returns the stored hash it matched, or
// errWrongSecret. One unreadable stored hash must not lock out a client
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
	return "", errWrongSecret
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
	if a.federation.Trusts(iss) {
		return a.federation.authenticate(ctx, in.Assertion, in.ID, errFederatedToken)
	}
	// RFC 7523 §3 item 1 and RFC 6749 §2.3: a client_id sent beside the
	// assertion must name the same client.
	if in.ID != "" && in.ID != iss {
		return domain.Client{}, domain.ErrInvalidClient.With("client_id does not match the assertion's issuer")
	}
	c, err := a.clients.FindClient(ctx, iss)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Client{}, errAssertionUnknownClient
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
		return domain.Client{}, domain.ErrInvalidClient.With("client assertion was already used").Because("assertion replayed")
	}
	return c, nil
}

// assertionError hides why an assertion was refused behind one answer,
// keeping the why for the log; anything else (a JWKS that cannot be
// fetched) is passed on wrapped.
func assertionError(context string, err error) error {
	var refused *domain.Error
	if errors.As(err, &refused) && refused.Code == domain.CodeInvalidClient {
		return errAssertionFailed.Because(refused.LogReason())
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
		return domain.ErrInvalidClient.With("client assertion has expired").Because("assertion expired")
	case t.ExpiresAt.After(now.Add(MaxAssertionLifetime + assertionLeeway)):
		return fail("expires too far in the future")
	case !t.NotBefore.IsZero() && now.Add(assertionLeeway).Before(t.NotBefore):
		return fail("is not valid yet")
	case !t.IssuedAt.IsZero() && now.Add(assertionLeeway).Before(t.IssuedAt):
		return fail("was issued in the future")
	case t.ID == "":
		return fail("has no jti")
	case c.FAPI2() && !domain.FAPI2Algorithm(t.Algorithm):
		return domain.ErrFAPI2Algorithm
	}
	return nil
}

// CredentialCacheStats counts the client secrets found verified in the
// cache (and so spared the slow hash); zero when the cache is off.
func (a *AuthenticateClient) CredentialCacheStats() CacheStats {
	if a.verified == nil {
		return CacheStats{}
	}
	return a.verified.entries.Stats()
}

// HashSlotStats reports the slow-hash slots' counts (see HashSlots.Stats).
func (a *AuthenticateClient) HashSlotStats() HashSlotStats { return a.slots.Stats() }
