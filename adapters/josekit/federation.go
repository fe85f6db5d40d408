package josekit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigilauth/sigil/adapters/internal/claims"
	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// maxDiscoveryBytes bounds a discovery document; a real one is a few KiB.
const maxDiscoveryBytes = 1 << 20

// FederatedIssuerKeys says where one trusted issuer's public keys are:
// exactly one of DiscoveryURL, JWKSURI and JWKS.
type FederatedIssuerKeys = application.FederatedKeySource

// FederatedTokens checks the signatures of tokens of trusted external
// issuers (application.Federation) with each issuer's own keys only,
// fetched and cached as RemoteKeySet does, with its refresh limit: a flood
// of tokens with unknown kids costs the issuer one fetch per
// MinRefreshInterval. It does not change once built; Trusting makes the
// next one.
type FederatedTokens struct {
	sources map[string]federatedSource
	base    *ClientAssertions
}

// federatedSource is an issuer's keys and where they come from.
type federatedSource struct {
	from FederatedIssuerKeys
	keys keySource
}

var _ application.FederatedTokenVerifier = (*FederatedTokens)(nil)

// NewFederatedTokens returns the verifier for issuers. opts give the HTTP
// client, the refresh limits, the clock and the logger, as for client
// jwks_uri. An inline JWKS that is not a JWK set with a key is an error.
func NewFederatedTokens(issuers []FederatedIssuerKeys, opts ClientAssertionOptions) (*FederatedTokens, error) {
	f := &FederatedTokens{base: NewClientAssertions(opts)} // for its defaults
	return f.trusting(issuers)
}

// Trusting implements application.FederatedTokenVerifier: an issuer whose
// key source is unchanged keeps its source, and with it the keys fetched
// and the refresh limit's clock; any other gets a new one.
func (f *FederatedTokens) Trusting(keys []application.FederatedKeySource) (application.FederatedTokenVerifier, error) {
	return f.trusting(keys)
}

func (f *FederatedTokens) trusting(issuers []FederatedIssuerKeys) (*FederatedTokens, error) {
	next := &FederatedTokens{sources: make(map[string]federatedSource, len(issuers)), base: f.base}
	for _, i := range issuers {
		if old, ok := f.sources[i.Issuer]; ok && old.from.Same(i) {
			next.sources[i.Issuer] = old
			continue
		}
		src, err := f.newSource(i)
		if err != nil {
			return nil, err
		}
		next.sources[i.Issuer] = federatedSource{from: i, keys: src}
	}
	return next, nil
}

func (f *FederatedTokens) newSource(i FederatedIssuerKeys) (keySource, error) {
	base := f.base
	switch {
	case len(i.JWKS) > 0:
		set, err := parseKeySet(i.JWKS, base.log.With("issuer", i.Issuer))
		if err != nil {
			return nil, fmt.Errorf("issuer %s: jwks: %w", i.Issuer, err)
		}
		if len(set.all) == 0 {
			return nil, fmt.Errorf("issuer %s: jwks holds no usable public key", i.Issuer)
		}
		return staticKeys{set}, nil
	case i.JWKSURI != "":
		return NewRemoteKeySet(i.JWKSURI, base.client, base.remotes), nil
	case i.DiscoveryURL != "":
		return &discoveredKeys{issuer: i.Issuer, url: i.DiscoveryURL, client: base.client, opts: base.remotes, clock: base.clock}, nil
	}
	return nil, fmt.Errorf("issuer %s: no keys", i.Issuer)
}

// UnverifiedIssuer reads the token's iss without checking the signature.
func (f *FederatedTokens) UnverifiedIssuer(raw string) (string, error) {
	return unverifiedIssuer(raw)
}

// VerifyFederatedToken checks raw with iss's keys and an algorithm among
// algs (HMAC ones are never accepted), and returns its claims unjudged.
func (f *FederatedTokens) VerifyFederatedToken(ctx context.Context, iss string, algs []domain.Algorithm, raw string) (application.FederatedToken, error) {
	source, ok := f.sources[iss]
	src := source.keys
	if !ok {
		return application.FederatedToken{}, refuse("federated token issuer not configured")
	}
	if len(raw) > maxAssertionBytes {
		return application.FederatedToken{}, refuse("federated token is too large")
	}
	if !canonicalCompact(raw) {
		return application.FederatedToken{}, refuse("malformed federated token")
	}
	allowed := make([]jose.SignatureAlgorithm, 0, len(algs))
	for _, a := range algs {
		if _, known := algorithms[a]; known {
			allowed = append(allowed, jose.SignatureAlgorithm(a))
		}
	}
	jws, err := jose.ParseSignedCompact(raw, allowed)
	if err != nil {
		var unexpected *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &unexpected) {
			return application.FederatedToken{}, refuse("federated token algorithm " + string(unexpected.Got) + " not allowed")
		}
		return application.FederatedToken{}, refuse("malformed federated token")
	}
	if len(jws.Signatures) != 1 {
		return application.FederatedToken{}, refuse("malformed federated token")
	}
	h := jws.Signatures[0].Protected
	payload, err := verifyWithKeys(ctx, src, jws, domain.Algorithm(h.Algorithm))
	if err != nil {
		return application.FederatedToken{}, err
	}
	var c struct {
		assertionClaims
		Act    *claims.Actor `json:"act"`
		MayAct *claims.Actor `json:"may_act"`
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(payload, &c) != nil || json.Unmarshal(payload, &all) != nil {
		return application.FederatedToken{}, refuse("malformed federated token claims")
	}
	act, err := c.Act.ToDomain()
	if err != nil {
		return application.FederatedToken{}, refuse("malformed act claim in federated token")
	}
	mayAct, err := c.MayAct.ToDomain()
	if err != nil || mayAct != nil && mayAct.Prior != nil {
		return application.FederatedToken{}, refuse("malformed may_act claim in federated token")
	}
	strs := make(map[string]string, len(all))
	for name, v := range all {
		var s string
		if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
			strs[name] = s
		}
	}
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	return application.FederatedToken{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  []string(c.Audience),
		ID:        c.ID,
		IssuedAt:  c.IssuedAt.Time(),
		NotBefore: c.NotBefore.Time(),
		ExpiresAt: c.ExpiresAt.Time(),
		Type:      typ,
		Claims:    strs,
		Actor:     act,
		MayAct:    mayAct,
	}, nil
}

// discoveredKeys finds an issuer's jwks_uri in its discovery document the
// first time keys are needed, then serves them through a RemoteKeySet.
// A failed discovery is retried at most once per MinRefreshInterval.
type discoveredKeys struct {
	issuer, url string
	client      *http.Client
	opts        RemoteKeySetOptions
	clock       application.Clock

	mu      sync.Mutex
	keys    *RemoteKeySet
	triedAt time.Time
	lastErr error
}

func (d *discoveredKeys) keysFor(ctx context.Context, need func(*keySet) bool) (*keySet, error) {
	r, err := d.remote(ctx)
	if err != nil {
		return nil, err
	}
	return r.keysFor(ctx, need)
}

func (d *discoveredKeys) remote(ctx context.Context) (*RemoteKeySet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.keys != nil {
		return d.keys, nil
	}
	minRefresh := d.opts.MinRefreshInterval
	if minRefresh <= 0 {
		minRefresh = 10 * time.Second
	}
	now := d.clock.Now()
	if !d.triedAt.IsZero() && now.Sub(d.triedAt) < minRefresh {
		return nil, fmt.Errorf("discover %s: %w: %w", d.url, domain.ErrTemporarilyUnavailable, d.lastErr)
	}
	d.triedAt = now
	uri, err := d.discover(ctx)
	if err != nil {
		d.lastErr = err
		return nil, fmt.Errorf("discover %s: %w: %w", d.url, domain.ErrTemporarilyUnavailable, err)
	}
	d.keys = NewRemoteKeySet(uri, d.client, d.opts)
	return d.keys, nil
}

// discover reads jwks_uri from the document, which must name the issuer
// it was configured for (OpenID Connect Discovery 1.0 §4.3, RFC 8414 §3.3).
func (d *discoveredKeys) discover(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDiscoveryBytes)).Decode(&doc); err != nil {
		return "", fmt.Errorf("decode: %w", err)
	}
	if doc.Issuer != d.issuer {
		return "", fmt.Errorf("document names issuer %q, not %q", doc.Issuer, d.issuer)
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", errors.New("jwks_uri is not an http(s) URL")
	}
	if u.Scheme == "http" && !strings.HasPrefix(d.url, "http:") {
		return "", errors.New("jwks_uri downgrades to http")
	}
	return doc.JWKSURI, nil
}
