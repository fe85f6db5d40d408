// Package fakes holds hand-written in-memory implementations of the
// application ports, for use-case tests. The contract suites in
// test/contract run against them as against the real adapters, so they
// stay honest.
package fakes

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Clock is a settable clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Clients is an in-memory client registry.
type Clients struct {
	mu sync.RWMutex
	m  map[string]domain.Client
}

// NewClients returns an empty registry.
func NewClients() *Clients { return &Clients{m: map[string]domain.Client{}} }

// FindClient implements application.ClientFinder.
func (s *Clients) FindClient(_ context.Context, id string) (domain.Client, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.m[id]
	if !ok {
		return domain.Client{}, domain.ErrNotFound
	}
	return c, nil
}

// SaveClient implements application.ClientSaver.
func (s *Clients) SaveClient(_ context.Context, c domain.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Scopes is a sorted set; the real stores hand it back normalised.
	c.AllowedScopes = domain.NewScopes(c.AllowedScopes...)
	c.DefaultScopes = domain.NewScopes(c.DefaultScopes...)
	s.m[c.ID] = c
	return nil
}

// Tokens is an in-memory opaque-token store keyed by the token's hash.
type Tokens struct {
	mu    sync.Mutex
	clock application.Clock
	m     map[string]domain.Token
}

// NewTokens returns an empty store that expires tokens by clock.
func NewTokens(clock application.Clock) *Tokens {
	return &Tokens{clock: clock, m: map[string]domain.Token{}}
}

func hashOf(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// SaveToken implements application.TokenStore.
func (s *Tokens) SaveToken(_ context.Context, t domain.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := hashOf(t.Value)
	t.Value = ""
	s.m[key] = t
	return nil
}

// FindToken implements application.TokenStore.
func (s *Tokens) FindToken(_ context.Context, value string) (domain.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[hashOf(value)]
	if !ok || !s.clock.Now().Before(t.ExpiresAt) {
		return domain.Token{}, domain.ErrNotFound
	}
	t.Value = value
	return t, nil
}

// DeleteToken implements application.TokenStore.
func (s *Tokens) DeleteToken(_ context.Context, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, hashOf(value))
	return nil
}

// ListClients implements application.ClientLister.
func (s *Clients) ListClients(context.Context) ([]domain.Client, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]domain.Client, 0, len(s.m))
	for _, c := range s.m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// DeleteClient implements application.ClientDeleter.
func (s *Clients) DeleteClient(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[id]; !ok {
		return domain.ErrNotFound
	}
	delete(s.m, id)
	return nil
}

// ListScopes implements application.ScopeLister.
func (s *Clients) ListScopes(context.Context) (domain.Scopes, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var all []string
	for _, c := range s.m {
		all = append(all, c.AllowedScopes...)
	}
	return domain.NewScopes(all...), nil
}

// Expiring is an in-memory set of ids that each expire: the fake of both
// the deny list and the replay guard.
type Expiring struct {
	mu    sync.Mutex
	clock application.Clock
	m     map[string]time.Time
}

// NewExpiring returns an empty set that expires entries by clock.
func NewExpiring(clock application.Clock) *Expiring {
	return &Expiring{clock: clock, m: map[string]time.Time{}}
}

func (e *Expiring) live(id string) bool {
	until, ok := e.m[id]
	return ok && e.clock.Now().Before(until)
}

// Deny implements application.DenyList.
func (e *Expiring) Deny(_ context.Context, jti string, until time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	// A later, shorter denial never cuts an earlier one short.
	if until.After(e.m[jti]) {
		e.m[jti] = until
	}
	return nil
}

// IsDenied implements application.DenyList.
func (e *Expiring) IsDenied(_ context.Context, jti string) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.live(jti), nil
}

// ListDenied implements application.DenyLister: every live entry as a
// revocation event.
func (e *Expiring) ListDenied(context.Context) ([]domain.Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []domain.Event
	for id, until := range e.m {
		if e.live(id) {
			out = append(out, domain.Event{Kind: domain.EventRevoked, JTI: id, ExpiresAt: until})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JTI < out[j].JTI })
	return out, nil
}

// FirstUse implements application.ReplayGuard.
func (e *Expiring) FirstUse(_ context.Context, id string, until time.Time) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.live(id) {
		return false, nil
	}
	e.m[id] = until
	return true, nil
}

// Box "seals" by prefixing, so tests can see what was sealed.
type Box struct{}

// Seal implements application.SecretBox.
func (Box) Seal(plain []byte) ([]byte, error) { return append([]byte("sealed:"), plain...), nil }

// Open implements application.SecretBox.
func (Box) Open(sealed []byte) ([]byte, error) {
	rest, ok := strings.CutPrefix(string(sealed), "sealed:")
	if !ok {
		return nil, errors.New("not sealed by fakes.Box")
	}
	return []byte(rest), nil
}

// Assertion is a client assertion in the transparent form AssertionVerifier
// reads: what a test builds instead of a signed JWT.
type Assertion struct {
	Claims domain.ClientAssertion
	// Method is the method the "signature" shows.
	Method domain.AuthMethod
	// Secret, for client_secret_jwt, must be one of the client's secrets;
	// Kid, for private_key_jwt, must appear in the client's JWKS text.
	Secret string
	Kid    string
}

// Encode renders the assertion as a dotted string.
func (a Assertion) Encode() string {
	b, _ := json.Marshal(a)
	return "assert." + hex.EncodeToString(b) + ".sig"
}

// AssertionVerifier checks Assertion values against the client as the
// real verifier checks signatures.
type AssertionVerifier struct{}

func decodeAssertion(s string) (Assertion, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] != "assert" {
		return Assertion{}, domain.ErrInvalidClient.With("malformed client assertion")
	}
	b, err := hex.DecodeString(parts[1])
	var a Assertion
	if err != nil || json.Unmarshal(b, &a) != nil {
		return Assertion{}, domain.ErrInvalidClient.With("malformed client assertion")
	}
	return a, nil
}

// UnverifiedIssuer implements application.ClientAssertionVerifier.
func (AssertionVerifier) UnverifiedIssuer(s string) (string, error) {
	a, err := decodeAssertion(s)
	return a.Claims.Issuer, err
}

// VerifyClientAssertion implements application.ClientAssertionVerifier.
func (AssertionVerifier) VerifyClientAssertion(_ context.Context, c domain.Client, secrets [][]byte, s string) (domain.ClientAssertion, domain.AuthMethod, error) {
	a, err := decodeAssertion(s)
	if err != nil {
		return domain.ClientAssertion{}, "", err
	}
	bad := domain.ErrInvalidClient.With("client assertion signature is invalid")
	switch a.Method {
	case domain.AuthClientSecretJWT:
		for _, sec := range secrets {
			if string(sec) == a.Secret {
				return a.Claims, a.Method, nil
			}
		}
	case domain.AuthPrivateKeyJWT:
		if a.Kid != "" && strings.Contains(c.JWKS, `"`+a.Kid+`"`) {
			return a.Claims, a.Method, nil
		}
	}
	return domain.ClientAssertion{}, "", bad
}

// IntrospectionSigner renders a signed introspection as JSON behind a
// marker, so tests can read it back.
type IntrospectionSigner struct{}

// SignIntrospection implements application.IntrospectionSigner.
func (IntrospectionSigner) SignIntrospection(_ context.Context, key domain.SigningKey, r application.SignedIntrospection) (string, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	return "introspection." + hex.EncodeToString(b) + "." + key.ID, nil
}

// Keys is an in-memory signing-key store.
type Keys struct {
	mu   sync.Mutex
	keys []domain.SigningKey
}

// ListSigningKeys implements application.KeyStore.
func (s *Keys) ListSigningKeys(context.Context) ([]domain.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.keys)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// SaveSigningKey implements application.KeyStore.
func (s *Keys) SaveSigningKey(_ context.Context, k domain.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.keys {
		if s.keys[i].ID == k.ID {
			s.keys[i] = k
			return nil
		}
	}
	s.keys = append(s.keys, k)
	return nil
}

// DeleteSigningKey implements application.KeyStore.
func (s *Keys) DeleteSigningKey(_ context.Context, kid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = slices.DeleteFunc(s.keys, func(k domain.SigningKey) bool { return k.ID == kid })
	return nil
}

// Locker is an in-process lock table; Held lets a test hold a lock as
// another node would.
type Locker struct {
	mu   sync.Mutex
	held map[string]bool
}

// Hold takes the named lock as another node would, until release is called.
func (l *Locker) Hold(name string) (release func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil {
		l.held = map[string]bool{}
	}
	l.held[name] = true
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.held, name)
	}
}

// TryLocked implements application.Locker.
func (l *Locker) TryLocked(ctx context.Context, name string, fn func(context.Context) error) (bool, error) {
	l.mu.Lock()
	if l.held[name] {
		l.mu.Unlock()
		return false, nil
	}
	if l.held == nil {
		l.held = map[string]bool{}
	}
	l.held[name] = true
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.held, name)
		l.mu.Unlock()
	}()
	return true, fn(ctx)
}

// Events records published events.
type Events struct {
	mu  sync.Mutex
	Log []domain.Event
	// Err, if set, is returned by Publish.
	Err      error
	handlers []func(domain.Event)
}

// Subscribe hands every event published from now on to h, as the feed
// hands it to each node.
func (e *Events) Subscribe(h func(domain.Event)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.handlers = append(e.handlers, h)
}

// Publish implements application.EventPublisher.
func (e *Events) Publish(_ context.Context, ev domain.Event) error {
	e.mu.Lock()
	if e.Err != nil {
		e.mu.Unlock()
		return e.Err
	}
	e.Log = append(e.Log, ev)
	handlers := slices.Clone(e.handlers)
	e.mu.Unlock()
	for _, h := range handlers {
		h(ev)
	}
	return nil
}

// Published returns a copy of the events so far.
func (e *Events) Published() []domain.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.Log)
}

// Countries is an in-memory country table.
type Countries struct {
	list []domain.Country
}

// NewCountries holds the given countries.
func NewCountries(list ...domain.Country) *Countries {
	l := slices.Clone(list)
	sort.Slice(l, func(i, j int) bool { return l[i].Alpha3 < l[j].Alpha3 })
	return &Countries{list: l}
}

// FindCountry implements application.CountryFinder.
func (s *Countries) FindCountry(_ context.Context, code string) (domain.Country, error) {
	for _, c := range s.list {
		if c.Alpha3 == code || c.Alpha2 == code {
			return c, nil
		}
	}
	return domain.Country{}, domain.ErrNotFound
}

// ListCountries implements application.CountryFinder.
func (s *Countries) ListCountries(_ context.Context, offset, limit int) ([]domain.Country, int, error) {
	if offset >= len(s.list) {
		return nil, len(s.list), nil
	}
	end := min(offset+limit, len(s.list))
	return slices.Clone(s.list[offset:end]), len(s.list), nil
}

// Hasher "hashes" a secret by prefixing it: fast and transparent, for
// tests that are not about hashing.
type Hasher struct{}

// HashSecret implements application.SecretHasher.
func (Hasher) HashSecret(secret string) (string, error) { return "plain$" + secret, nil }

// VerifySecret implements application.SecretHasher.
func (Hasher) VerifySecret(hash, secret string) (bool, error) {
	rest, ok := strings.CutPrefix(hash, "plain$")
	if !ok {
		return false, errors.New("not a fake hash")
	}
	return rest == secret, nil
}

// KeyGenerator makes P-256 keys with sequential kids, whatever the
// algorithm asked for, so tests need no RSA key generation.
type KeyGenerator struct {
	mu sync.Mutex
	n  int
}

// GenerateSigningKey implements application.KeyGenerator.
func (g *KeyGenerator) GenerateSigningKey(alg domain.Algorithm) (domain.SigningKey, error) {
	g.mu.Lock()
	g.n++
	n := g.n
	g.mu.Unlock()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return domain.SigningKey{}, err
	}
	return domain.SigningKey{ID: fmt.Sprintf("kid-%d", n), Algorithm: alg, Private: priv}, nil
}

// Signer "signs" a token as header.json(claims).kid, and Verifier reads it
// back: a transparent stand-in for JOSE in use-case tests.
type Signer struct{}

type fakeClaims struct {
	Token domain.Token
	Kid   string
}

// SignAccessToken implements application.AccessTokenSigner.
func (Signer) SignAccessToken(_ context.Context, key domain.SigningKey, t domain.Token) (string, error) {
	b, err := json.Marshal(fakeClaims{Token: t, Kid: key.ID})
	if err != nil {
		return "", err
	}
	return "fake." + hex.EncodeToString(b) + "." + key.ID, nil
}

// Verifier checks tokens made by Signer against a set of known kids and
// the clock.
type Verifier struct {
	Keys  application.VerificationKeys
	Clock application.Clock
}

// VerifyAccessToken implements application.AccessTokenVerifier.
func (v Verifier) VerifyAccessToken(ctx context.Context, raw string) (domain.Token, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || parts[0] != "fake" {
		return domain.Token{}, domain.ErrInvalidToken.With("malformed token")
	}
	b, err := hex.DecodeString(parts[1])
	if err != nil {
		return domain.Token{}, domain.ErrInvalidToken.With("malformed token")
	}
	var c fakeClaims
	if err := json.Unmarshal(b, &c); err != nil || c.Kid != parts[2] {
		return domain.Token{}, domain.ErrInvalidToken.With("malformed token")
	}
	if _, _, err := v.Keys.VerificationKey(ctx, c.Kid); err != nil {
		return domain.Token{}, domain.ErrInvalidToken.With("unknown key")
	}
	if !c.Token.ActiveAt(v.Clock.Now(), 0) {
		return domain.Token{}, domain.ErrInvalidToken.With("token expired")
	}
	c.Token.Value = raw
	c.Token.KeyID = c.Kid
	return c.Token, nil
}

// Introspector answers from a token store, as an authorization server's
// introspection endpoint would.
type Introspector struct {
	Store application.TokenStore
	// Err, if set, is returned for every call (an unreachable server).
	Err error
}

// IntrospectToken implements application.TokenIntrospector.
func (i Introspector) IntrospectToken(ctx context.Context, raw string) (domain.Token, error) {
	if i.Err != nil {
		return domain.Token{}, i.Err
	}
	t, err := i.Store.FindToken(ctx, raw)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Token{}, domain.ErrInvalidToken.With("token is not active")
	}
	return t, err
}

// JWKSEncoder lists kids as JSON, counting its calls.
type JWKSEncoder struct {
	mu    sync.Mutex
	Calls int
}

// EncodeJWKS implements application.JWKSEncoder.
func (e *JWKSEncoder) EncodeJWKS(keys []domain.SigningKey) ([]byte, error) {
	e.mu.Lock()
	e.Calls++
	e.mu.Unlock()
	kids := make([]string, len(keys))
	for i, k := range keys {
		kids[i] = k.ID
	}
	return json.Marshal(map[string][]string{"kids": kids})
}

var (
	_ application.ClientRegistry          = (*Clients)(nil)
	_ application.TokenStore              = (*Tokens)(nil)
	_ application.KeyStore                = (*Keys)(nil)
	_ application.CountryFinder           = (*Countries)(nil)
	_ application.SecretHasher            = Hasher{}
	_ application.KeyGenerator            = (*KeyGenerator)(nil)
	_ application.AccessTokenSigner       = Signer{}
	_ application.AccessTokenVerifier     = Verifier{}
	_ application.TokenIntrospector       = Introspector{}
	_ application.JWKSEncoder             = (*JWKSEncoder)(nil)
	_ application.ScopeLister             = (*Clients)(nil)
	_ application.DenyList                = (*Expiring)(nil)
	_ application.ReplayGuard             = (*Expiring)(nil)
	_ application.SecretBox               = Box{}
	_ application.ClientAssertionVerifier = AssertionVerifier{}
	_ application.IntrospectionSigner     = IntrospectionSigner{}
)

// TrustedKeys is a key trust list a test edits: the kids of the keys an
// authorization server still publishes.
type TrustedKeys struct {
	mu   sync.RWMutex
	kids map[string]bool
}

// NewTrustedKeys trusts kids.
func NewTrustedKeys(kids ...string) *TrustedKeys {
	t := &TrustedKeys{kids: map[string]bool{}}
	for _, k := range kids {
		t.kids[k] = true
	}
	return t
}

// Remove stops trusting kid, as a key removal would.
func (t *TrustedKeys) Remove(kid string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.kids, kid)
}

// TrustsKey implements application.KeyTrust.
func (t *TrustedKeys) TrustsKey(kid string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.kids[kid]
}

var _ application.KeyTrust = (*TrustedKeys)(nil)

// Auditor records audit events.
type Auditor struct {
	mu  sync.Mutex
	log []application.AuditEvent
}

// Audit implements application.Auditor.
func (a *Auditor) Audit(_ context.Context, e application.AuditEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.log = append(a.log, e)
}

// Events returns the events recorded so far.
func (a *Auditor) Events() []application.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.log)
}

var _ application.Auditor = (*Auditor)(nil)

// ClientRevocations is an in-memory application.ClientRevocationStore.
type ClientRevocations struct {
	mu sync.Mutex
	m  map[string]time.Time
	// Err, if set, is returned by every call.
	Err error
}

// RevokeClientTokens implements application.ClientRevocationStore.
func (s *ClientRevocations) RevokeClientTokens(_ context.Context, client string, before time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	if s.m == nil {
		s.m = map[string]time.Time{}
	}
	s.m[client] = before
	return nil
}

// ListClientRevocations implements application.ClientRevocationLister.
func (s *ClientRevocations) ListClientRevocations(context.Context) ([]domain.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	out := make([]domain.Event, 0, len(s.m))
	for id, t := range s.m {
		out = append(out, domain.Event{Kind: domain.EventClientTokensRevoked, ClientID: id, IssuedBefore: t})
	}
	slices.SortFunc(out, func(a, b domain.Event) int { return strings.Compare(a.ClientID, b.ClientID) })
	return out, nil
}

var _ application.ClientRevocationStore = (*ClientRevocations)(nil)

// Exchanges is an in-memory application.ExchangeLedger.
type Exchanges struct {
	mu    sync.Mutex
	clock application.Clock
	m     map[string]map[string]time.Time
}

// NewExchanges returns an empty ledger that expires entries by clock.
func NewExchanges(clock application.Clock) *Exchanges {
	return &Exchanges{clock: clock, m: map[string]map[string]time.Time{}}
}

// RecordExchange implements application.ExchangeLedger.
func (e *Exchanges) RecordExchange(_ context.Context, parent string, child application.ExchangedToken) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m[parent] == nil {
		e.m[parent] = map[string]time.Time{}
	}
	e.m[parent][child.JTI] = child.ExpiresAt
	return nil
}

// ExchangedFrom implements application.ExchangeLedger.
func (e *Exchanges) ExchangedFrom(_ context.Context, parent string) ([]application.ExchangedToken, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []application.ExchangedToken
	for jti, exp := range e.m[parent] {
		if e.clock.Now().Before(exp) {
			out = append(out, application.ExchangedToken{JTI: jti, ExpiresAt: exp})
		}
	}
	return out, nil
}
