package josekit

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

const (
	// maxAssertionBytes bounds a client assertion: a few hundred bytes in
	// practice, more only with a large RSA signature and many claims.
	maxAssertionBytes = 16 << 10
	// maxKidlessCandidates bounds the keys tried on an assertion without a
	// kid, so a client with a large key set cannot make each request cost
	// dozens of signature checks.
	maxKidlessCandidates = 8
	// defaultMaxKeySets bounds each of the caches of client key sets.
	defaultMaxKeySets = 1024
)

// ClientAssertionOptions configure ClientAssertions.
type ClientAssertionOptions struct {
	// HTTPClient fetches clients' jwks_uri; one with a 10s timeout if nil.
	HTTPClient *http.Client
	// MinRefreshInterval and MaxAge apply to each jwks_uri as to a
	// RemoteKeySet: 10s and 5m if zero.
	MinRefreshInterval time.Duration
	MaxAge             time.Duration
	// Clock defaults to the system clock.
	Clock application.Clock
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// MaxKeySets bounds how many parsed inline key sets, and separately
	// how many jwks_uri caches, are kept: 1024 if zero.
	MaxKeySets int
}

// ClientAssertions checks the signatures of JWT client assertions
// (RFC 7523 §2.2): HMAC ones against the client's secrets
// (client_secret_jwt), asymmetric ones against the client's registered
// public keys (private_key_jwt, OpenID Connect Core §9). It judges no
// claim: that is the caller's job.
type ClientAssertions struct {
	client  *http.Client
	remotes RemoteKeySetOptions
	log     *slog.Logger
	clock   application.Clock

	// inline holds parsed inline key sets by client id, remote the
	// fetchers by jwks_uri, each at most MaxKeySets, without expiry: a
	// client whose keys are dropped only pays one more parse or fetch.
	inline *application.BoundedCache[string, inlineKeys]
	remote *application.BoundedCache[string, *RemoteKeySet]
	// mu makes finding or adding a uri's fetcher one step, so that all
	// the clients that name a uri share one fetcher.
	mu sync.Mutex
}

// inlineKeys is a client's parsed jwks, with the hash of the text it was
// parsed from: a changed registration is parsed afresh.
type inlineKeys struct {
	sum [sha256.Size]byte
	set *keySet
}

var _ application.ClientAssertionVerifier = (*ClientAssertions)(nil)

// NewClientAssertions returns a ClientAssertions.
func NewClientAssertions(opts ClientAssertionOptions) *ClientAssertions {
	a := &ClientAssertions{
		client: opts.HTTPClient,
		remotes: RemoteKeySetOptions{
			MinRefreshInterval: opts.MinRefreshInterval,
			MaxAge:             opts.MaxAge,
			Clock:              opts.Clock,
			Logger:             opts.Logger,
		},
		log:   opts.Logger,
		clock: opts.Clock,
	}
	if a.client == nil {
		a.client = &http.Client{Timeout: fetchTimeout}
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.remotes.Logger = a.log
	if a.clock == nil {
		a.clock = application.SystemClock{}
	}
	maxSets := opts.MaxKeySets
	if maxSets <= 0 {
		maxSets = defaultMaxKeySets
	}
	a.inline = application.NewBoundedCache[string, inlineKeys](maxSets)
	a.remote = application.NewBoundedCache[string, *RemoteKeySet](maxSets)
	return a
}

func refuse(reason string) error { return domain.ErrInvalidClient.With(reason) }

var errMalformedAssertion = refuse("malformed client assertion")

// parseAssertion parses a compact JWS with the assertion allow-list, which
// refuses "none" before anything else is looked at.
func parseAssertion(raw string) (*jose.JSONWebSignature, error) {
	if raw == "" {
		return nil, errMalformedAssertion
	}
	if len(raw) > maxAssertionBytes {
		return nil, refuse("client assertion is too large")
	}
	if !canonicalCompact(raw) {
		return nil, errMalformedAssertion
	}
	jws, err := jose.ParseSignedCompact(raw, assertionAlgorithms)
	if err != nil {
		var unexpected *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &unexpected) {
			return nil, refuse("client assertion signing algorithm not allowed")
		}
		return nil, errMalformedAssertion
	}
	if len(jws.Signatures) != 1 {
		return nil, errMalformedAssertion
	}
	return jws, nil
}

func decodeAssertionClaims(payload []byte) (assertionClaims, error) {
	var c assertionClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return assertionClaims{}, refuse("malformed client assertion claims")
	}
	return c, nil
}

// UnverifiedIssuer reads the assertion's iss without checking the
// signature, only to find the client whose keys will check it.
func (a *ClientAssertions) UnverifiedIssuer(assertion string) (string, error) {
	return unverifiedIssuer(assertion)
}

// unverifiedIssuer reads the iss of a compact JWS without checking its
// signature.
func unverifiedIssuer(assertion string) (string, error) {
	jws, err := parseAssertion(assertion)
	if err != nil {
		return "", err
	}
	c, err := decodeAssertionClaims(jws.UnsafePayloadWithoutVerification())
	if err != nil {
		return "", err
	}
	if c.Issuer == "" {
		return "", refuse("client assertion has no iss")
	}
	return c.Issuer, nil
}

// VerifyClientAssertion checks the assertion's signature for client c. The
// header's alg picks the method: HS256/384/512 is client_secret_jwt,
// checked against secrets only, never against anything public, so a
// public key cannot serve as an HMAC secret (RFC 8725 §2.1); an
// asymmetric algorithm is private_key_jwt, checked against c's jwks or
// jwks_uri. Every failure is invalid_client, except a jwks_uri that
// cannot be fetched with nothing cached: that matches
// domain.ErrTemporarilyUnavailable.
func (a *ClientAssertions) VerifyClientAssertion(ctx context.Context, c domain.Client, secrets [][]byte, assertion string) (domain.ClientAssertion, domain.AuthMethod, error) {
	jws, err := parseAssertion(assertion)
	if err != nil {
		return domain.ClientAssertion{}, "", err
	}
	alg := domain.Algorithm(jws.Signatures[0].Protected.Algorithm)
	var (
		payload []byte
		method  domain.AuthMethod
	)
	if h, ok := hmacAlgorithms[alg]; ok {
		method = domain.AuthClientSecretJWT
		payload, err = a.verifyHMAC(c, jws, alg, h, secrets)
	} else {
		method = domain.AuthPrivateKeyJWT
		payload, err = a.verifyPublic(ctx, c, jws, alg)
	}
	if err != nil {
		return domain.ClientAssertion{}, "", err
	}
	t, err := decodeAssertionClaims(payload)
	if err != nil {
		return domain.ClientAssertion{}, "", err
	}
	return domain.ClientAssertion{
		Issuer:    t.Issuer,
		Subject:   t.Subject,
		Audience:  []string(t.Audience),
		ID:        t.ID,
		IssuedAt:  t.IssuedAt.Time(),
		NotBefore: t.NotBefore.Time(),
		ExpiresAt: t.ExpiresAt.Time(),
		Algorithm: alg,
	}, method, nil
}

// verifyHMAC tries each secret long enough for alg (RFC 7518 §3.2); a
// shorter one would be refused by go-jose anyway, and is logged so the
// operator can replace it.
func (a *ClientAssertions) verifyHMAC(c domain.Client, jws *jose.JSONWebSignature, alg domain.Algorithm, h hmacAlgorithm, secrets [][]byte) ([]byte, error) {
	usable := 0
	for _, s := range secrets {
		if len(s) < h.minKey {
			a.log.Debug("client secret too short for the assertion's algorithm", "client", c.ID, "alg", string(alg))
			continue
		}
		usable++
		if payload, err := jws.Verify(s); err == nil {
			return payload, nil
		}
	}
	if usable == 0 {
		return nil, refuse("client has no secret usable with " + string(alg))
	}
	return nil, refuse("client assertion signature is invalid")
}

// verifyPublic checks an asymmetric signature with the client's keys: the
// one the kid names, or without a kid each key that fits alg.
func (a *ClientAssertions) verifyPublic(ctx context.Context, c domain.Client, jws *jose.JSONWebSignature, alg domain.Algorithm) ([]byte, error) {
	src, err := a.keysOf(c)
	if err != nil {
		return nil, err
	}
	return verifyWithKeys(ctx, src, jws, alg)
}

// verifyWithKeys checks an asymmetric signature with the keys of src: the
// one the kid names, or without a kid each key that fits alg, fetching a
// newer set at most once and within src's refresh limit.
func verifyWithKeys(ctx context.Context, src keySource, jws *jose.JSONWebSignature, alg domain.Algorithm) ([]byte, error) {
	if kid := jws.Signatures[0].Protected.KeyID; kid != "" {
		set, err := src.keysFor(ctx, func(s *keySet) bool {
			_, ok := s.byKid[kid]
			return ok
		})
		if err != nil {
			return nil, keyLookupError(err, "client assertion names an unknown key")
		}
		k := set.byKid[kid]
		// The key decides the algorithm, not the assertion (RFC 8725 §3.1).
		if !k.accepts(alg) {
			return nil, refuse("client assertion algorithm does not match its key")
		}
		payload, err := jws.Verify(k.pub)
		if err != nil {
			return nil, refuse("client assertion signature is invalid")
		}
		return payload, nil
	}

	hasCandidate := func(s *keySet) bool { return len(s.candidates(alg)) > 0 }
	set, err := src.keysFor(ctx, hasCandidate)
	if err != nil {
		return nil, keyLookupError(err, "client has no key for "+string(alg))
	}
	payload, err := verifyWithAny(jws, set.candidates(alg))
	if !errors.Is(err, errNoKeyVerified) {
		return payload, err
	}
	// The client may have rotated its keys since they were fetched: look
	// once more, if a newer set can be had without breaking the refresh
	// rate limit.
	newer, err := src.keysFor(ctx, func(s *keySet) bool { return s != set && hasCandidate(s) })
	if err == nil {
		payload, err = verifyWithAny(jws, newer.candidates(alg))
		if !errors.Is(err, errNoKeyVerified) {
			return payload, err
		}
	}
	return nil, refuse("client assertion signature is invalid")
}

var errNoKeyVerified = errors.New("no key verified the signature")

func verifyWithAny(jws *jose.JSONWebSignature, keys []remoteKey) ([]byte, error) {
	if len(keys) > maxKidlessCandidates {
		return nil, refuse("client assertion needs a kid: the client has too many keys to try")
	}
	for _, k := range keys {
		if payload, err := jws.Verify(k.pub); err == nil {
			return payload, nil
		}
	}
	return nil, errNoKeyVerified
}

// keyLookupError turns a key source's domain.ErrNotFound into
// invalid_client with reason; anything else (the jwks_uri unreachable,
// the request given up) passes through.
func keyLookupError(err error, reason string) error {
	if errors.Is(err, domain.ErrNotFound) {
		return refuse(reason)
	}
	return fmt.Errorf("client keys: %w", err)
}

// keySource is where a client's public keys come from: its inline jwks or
// a RemoteKeySet for its jwks_uri.
type keySource interface {
	keysFor(ctx context.Context, need func(*keySet) bool) (*keySet, error)
}

// staticKeys is a key set that never changes: a client's inline jwks.
type staticKeys struct{ set *keySet }

func (s staticKeys) keysFor(_ context.Context, need func(*keySet) bool) (*keySet, error) {
	if need(s.set) {
		return s.set, nil
	}
	return nil, domain.ErrNotFound
}

// keysOf returns c's key source: the inline jwks (RFC 7591 §2, parsed
// once per registration text) or the cached fetcher of its jwks_uri.
func (a *ClientAssertions) keysOf(c domain.Client) (keySource, error) {
	switch {
	case c.JWKS != "":
		return a.inlineKeys(c)
	case c.JWKSURI != "":
		return a.remoteKeys(c.JWKSURI)
	}
	return nil, refuse("client has no public keys")
}

func (a *ClientAssertions) inlineKeys(c domain.Client) (keySource, error) {
	sum := sha256.Sum256([]byte(c.JWKS))
	if e, ok := a.inline.Get(c.ID, a.clock.Now()); ok && e.sum == sum {
		return staticKeys{e.set}, nil
	}
	if len(c.JWKS) > maxKeySetBytes {
		return nil, refuse("client jwks is too large")
	}
	set, err := parseKeySet([]byte(c.JWKS), a.log.With("client", c.ID))
	if err != nil {
		return nil, refuse("client jwks is not a JWK set")
	}
	a.inline.Keep(c.ID, inlineKeys{sum: sum, set: set})
	return staticKeys{set}, nil
}

// remoteKeys returns the one fetcher of uri, shared by every client that
// registered it, so that its refresh rate limit holds across them.
func (a *ClientAssertions) remoteKeys(uri string) (keySource, error) {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, refuse("client jwks_uri is not an http(s) URL")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.remote.Get(uri, a.clock.Now())
	if !ok {
		r = NewRemoteKeySet(uri, a.client, a.remotes)
		a.remote.Keep(uri, r)
	}
	return r, nil
}
