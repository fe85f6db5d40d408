package application

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// TokenExchange is the token endpoint's part of RFC 8693: it checks the
// subject token (one of Sigil's own access tokens, JWT or opaque, or a
// token of a trusted external issuer) and the optional actor token, and
// decides what the exchanged token says: its subject, the scopes it keeps
// (never more than the subject token had), its audience (one the client's
// policy allows), who acts (act, nested for chains, as may_act permits),
// and a lifetime no longer than the subject token's.
//
// Every token exchanged from one of Sigil's own is recorded in the
// ledger, so that revoking the subject token revokes what was exchanged
// from it, and from those, down the whole chain (RevokeToken).
type TokenExchange struct {
	lookup     *tokenLookup
	federation *Federation
	ledger     ExchangeLedger
	clock      Clock
}

// NewTokenExchange builds the grant. verifier checks Sigil's own JWTs,
// store finds its opaque tokens, denied and clients hold the revocations;
// federation, which may be nil, trusts external issuers' subject tokens.
func NewTokenExchange(store TokenStore, verifier AccessTokenVerifier, denied DenyList, clients *RevocationSet, federation *Federation, ledger ExchangeLedger, clock Clock) *TokenExchange {
	return &TokenExchange{
		lookup:     &tokenLookup{store: store, verifier: verifier, denied: denied, clients: clients},
		federation: federation, ledger: ledger, clock: clock,
	}
}

// ExchangeWith turns on the token exchange grant.
func (h *IssueToken) ExchangeWith(x *TokenExchange) { h.exchange = x }

// exchangeParty is a subject or actor token once checked.
type exchangeParty struct {
	// own is set for a token Sigil issued, which token then holds.
	own   bool
	token domain.Token
	// issuer is the external issuer, empty for Sigil's own.
	issuer, subject string
	scopes          domain.Scopes
	expiresAt       time.Time
	actor, mayAct   *domain.Actor
}

// exchangeGrant is what an exchange decided the new token says.
type exchangeGrant struct {
	subject   string
	scopes    domain.Scopes
	audience  []string
	actor     *domain.Actor
	parent    string
	expiresAt time.Time
	format    domain.TokenFormat
	// issuedType is the issued_token_type of the response (RFC 8693 §2.2.1).
	issuedType string
}

// decide checks an exchange request of client, which the caller has
// authenticated and found allowed the grant. Refusals are invalid_request,
// as RFC 8693 §2.2.2 says for subject and actor tokens that are invalid
// "or are unacceptable based on policy"; a scope or audience beyond the
// policy gets invalid_scope or invalid_target.
func (x *TokenExchange) decide(ctx context.Context, client domain.Client, in IssueTokenInput) (exchangeGrant, error) {
	if in.ActorToken == "" && in.ActorTokenType != "" {
		return exchangeGrant{}, domain.ErrInvalidRequest.With("actor_token_type is sent without actor_token")
	}
	subject, err := x.party(ctx, client, in.SubjectToken, in.SubjectTokenType, "subject_token")
	if err != nil {
		return exchangeGrant{}, err
	}
	if subject.own && subject.token.ClientID != client.ID && !client.AcceptsSubjectAudience(subject.token.Audience) {
		return exchangeGrant{}, domain.ErrInvalidRequest.With("subject_token was not issued for this client").
			Because("subject token's aud names none of the client's token_exchange subject audiences")
	}
	expires := subject.expiresAt
	acting := &domain.Actor{Subject: client.ID}
	if in.ActorToken != "" {
		actor, err := x.party(ctx, client, in.ActorToken, in.ActorTokenType, "actor_token")
		if err != nil {
			return exchangeGrant{}, err
		}
		acting = &domain.Actor{Subject: actor.subject, Issuer: actor.issuer}
		if actor.expiresAt.Before(expires) {
			expires = actor.expiresAt
		}
	}
	chain := subject.actor
	// Delegation needs an actor other than the subject; a token whose
	// current actor is already this one keeps its chain (B narrowing a
	// token it obtained for A does not name itself twice).
	if !acting.Is(&domain.Actor{Subject: subject.subject, Issuer: subject.issuer}) && !acting.Is(chain) {
		// Delegation (RFC 8693 §1.1): the actor acts for another subject.
		switch {
		case !client.Exchange.Delegate:
			return exchangeGrant{}, domain.ErrInvalidRequest.With("this client may not act for another subject").
				Because("token exchange: client's policy does not allow delegation")
		case !subject.mayAct.Allows(acting):
			return exchangeGrant{}, domain.ErrInvalidRequest.With("the subject token's may_act does not name this actor").
				Because("token exchange: may_act names " + subject.mayAct.Subject)
		}
		acting.Prior = chain
		chain = acting
		if chain.Depth() > domain.MaxActorDepth {
			return exchangeGrant{}, domain.ErrInvalidRequest.With(fmt.Sprintf("the delegation chain would be longer than %d actors", domain.MaxActorDepth))
		}
	}
	requested, err := domain.ParseScopes(in.Scope)
	if err != nil {
		return exchangeGrant{}, err
	}
	scopes, err := client.ExchangeScopes(subject.scopes, requested)
	if err != nil {
		return exchangeGrant{}, err
	}
	for _, r := range in.Resources {
		if !domain.ValidResourceIndicator(r) {
			return exchangeGrant{}, domain.ErrInvalidTarget.With("resource must be an absolute URI without a fragment")
		}
	}
	audience, err := client.ExchangeTarget(append(slices.Clone(in.Resources), in.Audiences...))
	if err != nil {
		return exchangeGrant{}, err
	}
	g := exchangeGrant{subject: subject.subject, scopes: scopes, audience: audience, actor: chain, expiresAt: expires, format: client.TokenFormat, issuedType: domain.TokenTypeAccessToken}
	switch in.RequestedTokenType {
	case "", domain.TokenTypeAccessToken:
	case domain.TokenTypeJWT:
		g.format, g.issuedType = domain.FormatJWT, domain.TokenTypeJWT
	default:
		return exchangeGrant{}, domain.ErrInvalidRequest.With("requested_token_type " + in.RequestedTokenType + " is not supported: ask for " + domain.TokenTypeAccessToken + " or " + domain.TokenTypeJWT)
	}
	if subject.own {
		g.parent = subject.token.ID
	}
	return g, nil
}

// party checks raw, of type typ, as the subject or actor token (which):
// a live token of Sigil's, or a token of a trusted external issuer. An
// actor token must be the requesting client's: one Sigil issued to it, or
// an external token that maps to it.
func (x *TokenExchange) party(ctx context.Context, client domain.Client, raw, typ, which string) (exchangeParty, error) {
	switch {
	case raw == "":
		return exchangeParty{}, domain.ErrInvalidRequest.With(which + " is required")
	case typ == "":
		return exchangeParty{}, domain.ErrInvalidRequest.With(which + "_type is required")
	case typ != domain.TokenTypeAccessToken && typ != domain.TokenTypeJWT && typ != domain.TokenTypeIDToken:
		return exchangeParty{}, domain.ErrInvalidRequest.With(which + "_type " + typ + " is not supported")
	}
	refusal := domain.ErrInvalidRequest.With(which + " is invalid")
	isJWT := LooksLikeJWT(raw)
	if typ == domain.TokenTypeJWT && !isJWT {
		return exchangeParty{}, refusal.Because(which + ": not a JWT")
	}
	if typ != domain.TokenTypeIDToken {
		t, found, err := x.lookup.find(ctx, raw)
		if err != nil {
			return exchangeParty{}, fmt.Errorf("look up %s: %w", which, err)
		}
		if found {
			return x.ownParty(t, client, which, refusal)
		}
		if !isJWT {
			return exchangeParty{}, refusal.Because(which + ": unknown, expired or revoked token")
		}
	}
	if !x.federation.Enabled() || !x.federation.trustsIssuerOf(raw) {
		// Most often one of Sigil's own JWTs, expired or revoked.
		return exchangeParty{}, refusal.Because(which + ": not an active token of this server nor one of a trusted issuer")
	}
	t, trust, err := x.federation.verify(ctx, raw, refusal)
	if err != nil {
		return exchangeParty{}, err
	}
	p := exchangeParty{issuer: t.Issuer, subject: t.Subject, scopes: trust.SubjectScopes, expiresAt: t.ExpiresAt, actor: t.Actor, mayAct: t.MayAct}
	if which == "actor_token" {
		if trust.mapsTo(t) != client.ID {
			return exchangeParty{}, refusal.Because("actor token does not map to the requesting client")
		}
		return p, nil
	}
	if len(trust.SubjectScopes) == 0 {
		return exchangeParty{}, refusal.Because("subject token's issuer has no subject_token_scopes: its tokens authenticate clients only")
	}
	return p, nil
}

// ownParty is a token Sigil issued, found live by the lookup.
func (x *TokenExchange) ownParty(t domain.Token, client domain.Client, which string, refusal *domain.Error) (exchangeParty, error) {
	if !t.ActiveAt(x.clock.Now(), 0) || x.lookup.clients.ClientRevoked(t.ClientID, t.IssuedAt) {
		return exchangeParty{}, refusal.Because(which + ": expired or revoked")
	}
	if which == "actor_token" && t.ClientID != client.ID {
		return exchangeParty{}, refusal.Because("actor token was issued to another client")
	}
	return exchangeParty{own: true, token: t, subject: t.Subject, scopes: t.Scopes, expiresAt: t.ExpiresAt, actor: t.Actor, mayAct: t.MayAct}, nil
}

// record remembers that child was exchanged from parent, before the token
// is handed out: a token the ledger does not know of could outlive the
// revocation of its parent.
func (x *TokenExchange) record(ctx context.Context, parent string, child domain.Token) error {
	if parent == "" {
		return nil
	}
	if err := x.ledger.RecordExchange(ctx, parent, ExchangedToken{JTI: child.ID, ExpiresAt: child.ExpiresAt}); err != nil {
		return fmt.Errorf("record exchange: %w", err)
	}
	return nil
}

// maxCascade bounds the tokens one revocation walks through: a runaway
// fan-out must not hold a revocation request for long.
const maxCascade = 10000

// revokeExchanged revokes every token exchanged from jti, and from those,
// down the chain: each jti is denied until its token expires and announced
// to every node, as RevokeToken does for the token itself. seen holds the
// jtis already revoked, which a second pass skips.
func revokeExchanged(ctx context.Context, ledger ExchangeLedger, denied DenyList, events EventPublisher, jti string, seen map[string]bool) error {
	if ledger == nil {
		return nil
	}
	queue := []string{jti}
	seen[jti] = true
	for len(queue) > 0 && len(seen) <= maxCascade {
		parent := queue[0]
		queue = queue[1:]
		children, err := ledger.ExchangedFrom(ctx, parent)
		if err != nil {
			return fmt.Errorf("list exchanged tokens: %w", err)
		}
		for _, c := range children {
			if seen[c.JTI] {
				continue
			}
			seen[c.JTI] = true
			if err := denied.Deny(ctx, c.JTI, c.ExpiresAt); err != nil {
				return fmt.Errorf("deny exchanged jti: %w", err)
			}
			if err := events.Publish(ctx, domain.Event{Kind: domain.EventRevoked, JTI: c.JTI, ExpiresAt: c.ExpiresAt}); err != nil {
				return fmt.Errorf("publish revocation: %w", err)
			}
			queue = append(queue, c.JTI)
		}
	}
	return nil
}
