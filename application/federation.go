package application

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// GrantTypeJWTBearer is the JWT bearer authorization grant (RFC 7523
// §2.1): a federated token stands in for the client's credentials and
// yields a token as client_credentials would.
const GrantTypeJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// DefaultFederationAlgorithms are the algorithms a trusted issuer may sign
// with when its entry names none: asymmetric only, never HMAC (the
// issuer's public key must not serve as a shared secret, RFC 8725 §2.1).
var DefaultFederationAlgorithms = []domain.Algorithm{"RS256", "ES256", "PS256", "EdDSA"}

// DefaultFederationMaxLifetime bounds exp-iat of a federated token when
// its issuer's entry sets no bound: Kubernetes' default projected token
// lives an hour.
const DefaultFederationMaxLifetime = time.Hour

// FederatedIssuer is one trust relationship: tokens iss signs with its
// keys may authenticate the clients its mappings name.
type FederatedIssuer struct {
	// Issuer is the exact iss of the tokens.
	Issuer string
	// Audiences are the aud values accepted; the token must name one.
	Audiences []string
	// Algorithms are the JWS algorithms accepted.
	Algorithms []domain.Algorithm
	// MaxLifetime bounds exp-iat (exp-now without iat).
	MaxLifetime time.Duration
	// AllowReuse accepts a token with a jti more than once (Kubernetes'
	// kubelet hands the same projected token out until it rotates it);
	// otherwise each jti is single use across every node.
	AllowReuse bool
	// Mappings map a token to a client; the first that matches wins.
	Mappings []FederationMapping
	// SubjectScopes, when set, lets the issuer's tokens be subject tokens
	// of token exchange (RFC 8693): an exchanged token keeps at most these
	// scopes, the issuer's tokens granting none of Sigil's by themselves.
	// Empty: its tokens authenticate clients only.
	SubjectScopes domain.Scopes
	// Keys is where its public keys are.
	Keys FederatedKeySource
}

// FederationMapping maps a federated token to one of Sigil's clients by
// its exact sub, its claims, or both.
type FederationMapping struct {
	Client string
	// Subject, if set, must equal sub exactly.
	Subject string
	// Claims must each equal the token's string claim of that name.
	Claims map[string]string
}

// mapsTo is the client the first matching mapping names, "" for none.
func (i FederatedIssuer) mapsTo(t FederatedToken) string {
	n := slices.IndexFunc(i.Mappings, func(m FederationMapping) bool { return m.matches(t) })
	if n < 0 {
		return ""
	}
	return i.Mappings[n].Client
}

func (m FederationMapping) matches(t FederatedToken) bool {
	if m.Subject != "" && m.Subject != t.Subject {
		return false
	}
	for name, want := range m.Claims {
		if got, ok := t.Claims[name]; !ok || got != want {
			return false
		}
	}
	return true
}

// FederatedToken is what a trusted issuer's token says, once its
// signature is checked.
type FederatedToken struct {
	Issuer    string
	Subject   string
	Audience  []string
	ID        string
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
	// Type is the JOSE header's typ, empty if absent.
	Type string
	// Claims holds the token's top-level string claims, for mappings.
	Claims map[string]string
	// Actor and MayAct are its act and may_act claims (RFC 8693 §4.1,
	// §4.4), nil when absent, for token exchange.
	Actor, MayAct *domain.Actor
}

// Federation authenticates clients by tokens of trusted external issuers
// (workload identity federation): a Kubernetes service account token, a
// SPIFFE JWT-SVID, a CI job's OIDC token. It is used by AuthenticateClient
// for client assertions (RFC 7523 §2.2) and by IssueToken for the JWT
// bearer grant (RFC 7523 §2.1).
//
// The issuers it trusts are those of the federation file, fixed at start,
// and those stored through the admin API (Manage, Reload), which may
// change while it runs: each change swaps the whole set and its verifier
// at once, so a token is judged by one issuer's entry and keys, and the
// hot path reads one pointer.
type Federation struct {
	state   atomic.Pointer[federationState]
	fixed   []FederatedIssuer
	clients ClientFinder
	replays ReplayGuard
	clock   Clock

	rules FederationRules
	store FederatedIssuerStore
	// mu orders the writers (Reload); readers never take it.
	mu sync.Mutex
}

// federationState is one trusted set and the verifier of its keys.
type federationState struct {
	issuers  map[string]FederatedIssuer
	verifier FederatedTokenVerifier
}

// NewFederation builds a Federation trusting issuers (the federation
// file's), checked by verifier. Entries are taken as validated (bootstrap
// does that at start).
func NewFederation(issuers []FederatedIssuer, verifier FederatedTokenVerifier, clients ClientFinder, replays ReplayGuard, clock Clock) *Federation {
	f := &Federation{fixed: issuers, clients: clients, replays: replays, clock: clock}
	st := &federationState{issuers: map[string]FederatedIssuer{}, verifier: verifier}
	for _, i := range issuers {
		st.issuers[i.Issuer] = i
	}
	f.state.Store(st)
	return f
}

// Manage has the Federation trust, besides its fixed issuers, those of
// store, checked by rules: Reload reads them.
func (f *Federation) Manage(store FederatedIssuerStore, rules FederationRules) {
	f.store, f.rules = store, rules
}

// FileDefines reports whether iss is one of the fixed issuers (the
// federation file's), which the admin API may not manage.
func (f *Federation) FileDefines(iss string) bool {
	return slices.ContainsFunc(f.fixed, func(i FederatedIssuer) bool { return i.Issuer == iss })
}

// Check checks a trust relationship as Reload would: the rules, and keys
// the verifier can use (an inline JWKS with a public key). An error is a
// *FederationEntryError.
func (f *Federation) Check(s FederatedIssuerSpec) (FederatedIssuer, error) {
	iss, err := f.rules.Check(s)
	if err != nil {
		return FederatedIssuer{}, err
	}
	if _, err := f.state.Load().verifier.Trusting([]FederatedKeySource{iss.Keys}); err != nil {
		return FederatedIssuer{}, &FederationEntryError{Reason: err.Error()}
	}
	return iss, nil
}

// Reload reads the stored issuers and trusts them with the fixed ones.
// A stored entry for an issuer the file defines is ignored (the file
// wins); one that no longer passes the rules (a setting changed since it
// was stored) is left out and named in the error, the others are trusted
// all the same. The keys of an issuer whose key source did not change
// keep their cache.
func (f *Federation) Reload(ctx context.Context) error {
	if f.store == nil {
		return nil
	}
	specs, err := f.store.ListFederatedIssuers(ctx)
	if err != nil {
		return fmt.Errorf("list federated issuers: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	next := slices.Clone(f.fixed)
	var bad []error
	for _, s := range specs {
		if f.FileDefines(s.Issuer) {
			continue
		}
		iss, err := f.Check(s)
		if err != nil {
			bad = append(bad, fmt.Errorf("issuer %s: %w", s.Issuer, err))
			continue
		}
		next = append(next, iss)
	}
	return errors.Join(append(bad, f.replace(next))...)
}

// replace trusts issuers from now on, with a verifier that keeps the
// caches of unchanged key sources.
func (f *Federation) replace(issuers []FederatedIssuer) error {
	keys := make([]FederatedKeySource, len(issuers))
	st := &federationState{issuers: make(map[string]FederatedIssuer, len(issuers))}
	for n, i := range issuers {
		keys[n] = i.Keys
		st.issuers[i.Issuer] = i
	}
	v, err := f.state.Load().verifier.Trusting(keys)
	if err != nil {
		return fmt.Errorf("federated issuer keys: %w", err)
	}
	st.verifier = v
	f.state.Store(st)
	return nil
}

// Issuers are the issuers trusted now, ordered by issuer.
func (f *Federation) Issuers() []string {
	if f == nil {
		return nil
	}
	out := slices.Collect(maps.Keys(f.state.Load().issuers))
	slices.Sort(out)
	return out
}

// Trusts reports whether iss is a trusted issuer; false on a nil
// Federation, so callers need not check whether federation is on.
func (f *Federation) Trusts(iss string) bool {
	if f == nil {
		return false
	}
	_, ok := f.state.Load().issuers[iss]
	return ok
}

// trustsIssuerOf reports whether raw's unverified iss is trusted.
func (f *Federation) trustsIssuerOf(raw string) bool {
	st := f.state.Load()
	iss, err := st.verifier.UnverifiedIssuer(raw)
	return err == nil && st.issuers[iss].Issuer != ""
}

// Enabled reports whether any issuer is trusted now.
func (f *Federation) Enabled() bool { return f != nil && len(f.state.Load().issuers) > 0 }

// errFederatedToken is the one answer to a federated token refused at the
// token endpoint's client authentication; the log reason says which check.
var errFederatedToken = domain.ErrInvalidClient.With("client assertion is invalid")

// errFederatedGrant is the same for the JWT bearer grant (RFC 7523 §3.1:
// invalid_grant).
var errFederatedGrant = domain.ErrInvalidGrant.With("assertion is invalid")

// allowedTokenTypes are the typ values a federated token may carry: the
// plain JWT ones. Anything else (dpop+jwt, at+jwt, a logout token) is a
// token made for another purpose (RFC 8725 §3.11).
var allowedTokenTypes = []string{"", "jwt", "jose", "application/jwt"}

// authenticate checks raw as a token of a trusted issuer and returns the
// client it maps to. refusal is the answer for a bad token (errFederatedToken
// or errFederatedGrant); its log reason names the failed check. clientID,
// if set, must be the mapped client.
func (f *Federation) authenticate(ctx context.Context, raw, clientID string, refusal *domain.Error) (domain.Client, error) {
	t, trust, err := f.verify(ctx, raw, refusal)
	if err != nil {
		return domain.Client{}, err
	}
	c, err := f.mappedClient(ctx, t, trust, clientID, refusal)
	if err != nil {
		return domain.Client{}, err
	}
	if t.ID != "" && !trust.AllowReuse {
		first, err := f.replays.FirstUse(ctx, "federated "+t.Issuer+" "+t.ID, t.ExpiresAt.Add(assertionLeeway))
		if err != nil {
			return domain.Client{}, fmt.Errorf("record federated token: %w", err)
		}
		if !first {
			return domain.Client{}, refusal.With("assertion was already used").Because("federated token: jti replayed")
		}
	}
	return c, nil
}

// verify checks raw as a token of a trusted issuer: signature by the
// issuer's keys, iss, typ, sub, aud, and the dates with leeway and the
// issuer's maximum lifetime. It returns the token and its issuer's entry.
func (f *Federation) verify(ctx context.Context, raw string, refusal *domain.Error) (FederatedToken, FederatedIssuer, error) {
	fail := func(why string) error { return refusal.Because("federated token: " + why) }
	st := f.state.Load()
	iss, err := st.verifier.UnverifiedIssuer(raw)
	if err != nil {
		return FederatedToken{}, FederatedIssuer{}, federationError(refusal, err)
	}
	trust, ok := st.issuers[iss]
	if !ok {
		return FederatedToken{}, FederatedIssuer{}, fail("issuer not configured")
	}
	t, err := st.verifier.VerifyFederatedToken(ctx, iss, trust.Algorithms, raw)
	if err != nil {
		return FederatedToken{}, FederatedIssuer{}, federationError(refusal, err)
	}
	now := f.clock.Now()
	var why string
	switch {
	case t.Issuer != trust.Issuer:
		why = "iss does not match"
	case !slices.Contains(allowedTokenTypes, strings.ToLower(t.Type)):
		why = "typ " + t.Type + " not accepted"
	case t.Subject == "":
		why = "no sub"
	case !slices.ContainsFunc(t.Audience, func(a string) bool { return slices.Contains(trust.Audiences, a) }):
		why = "aud does not name this server"
	case t.ExpiresAt.IsZero():
		why = "no exp"
	case !now.Add(-assertionLeeway).Before(t.ExpiresAt):
		why = "expired"
	case !t.NotBefore.IsZero() && now.Add(assertionLeeway).Before(t.NotBefore):
		why = "nbf in the future"
	case !t.IssuedAt.IsZero() && now.Add(assertionLeeway).Before(t.IssuedAt):
		why = "iat in the future"
	case lifetime(t, now) > trust.MaxLifetime:
		why = "lifetime longer than the issuer's max_lifetime"
	default:
		return t, trust, nil
	}
	return FederatedToken{}, FederatedIssuer{}, fail(why)
}

// mappedClient is the client a verified token maps to, which must allow
// federated_jwt; clientID, if set, must be it.
func (f *Federation) mappedClient(ctx context.Context, t FederatedToken, trust FederatedIssuer, clientID string, refusal *domain.Error) (domain.Client, error) {
	fail := func(why string) error { return refusal.Because("federated token: " + why) }
	id := trust.mapsTo(t)
	if id == "" {
		return domain.Client{}, fail("no mapping matches sub " + t.Subject)
	}
	if clientID != "" && clientID != id {
		return domain.Client{}, refusal.With("client_id does not match the federated token").Because("federated token maps to another client")
	}
	c, err := f.clients.FindClient(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Client{}, fail("mapped client " + id + " does not exist")
	}
	if err != nil {
		return domain.Client{}, fmt.Errorf("find client: %w", err)
	}
	if !c.AllowsAuthMethod(domain.AuthFederatedJWT) {
		return domain.Client{}, fail("client " + id + " does not allow " + string(domain.AuthFederatedJWT))
	}
	return c, nil
}

// lifetime is how long the token claims to live: from iat, or from now
// when it has none.
func lifetime(t FederatedToken, now time.Time) time.Duration {
	from := t.IssuedAt
	if from.IsZero() || from.After(now) {
		from = now
	}
	return t.ExpiresAt.Sub(from)
}

// federationError keeps a verifier's refusal as the log reason behind the
// one answer; anything else (keys that cannot be fetched) passes wrapped.
func federationError(refusal *domain.Error, err error) error {
	var refused *domain.Error
	if errors.As(err, &refused) && (refused.Code == domain.CodeInvalidClient || refused.Code == domain.CodeInvalidGrant) {
		return refusal.Because("federated token: " + refused.LogReason())
	}
	return fmt.Errorf("verify federated token: %w", err)
}

// errGrantUnsupported answers the JWT bearer grant when no issuer is
// trusted.
var errGrantUnsupported = domain.ErrUnsupportedGrantType.With("grant_type " + GrantTypeJWTBearer + " is not supported")

// federatedGrant authenticates a JWT bearer grant (RFC 7523 §2.1): the
// assertion names the client. Client authentication is optional there
// (§3.1); when the request carries credentials too, they must be the
// mapped client's.
func (a *AuthenticateClient) federatedGrant(ctx context.Context, in IssueTokenInput) (domain.Client, error) {
	if !a.federation.Enabled() {
		return domain.Client{}, errGrantUnsupported
	}
	if in.Assertion == "" {
		return domain.Client{}, domain.ErrInvalidRequest.With("assertion is required")
	}
	creds := in.Credentials
	authenticated := creds.Secret != "" || creds.Assertion != "" || creds.AssertionType != ""
	if authenticated {
		c, err := a.Handle(ctx, creds)
		if err != nil {
			return domain.Client{}, err
		}
		creds.ID = c.ID
	}
	c, err := a.federation.authenticate(ctx, in.Assertion, creds.ID, errFederatedGrant)
	if err != nil {
		return domain.Client{}, err
	}
	if !authenticated {
		if err := a.limitRequests(ctx, c.ID, creds.Endpoint); err != nil {
			return domain.Client{}, err
		}
	}
	return c, nil
}
