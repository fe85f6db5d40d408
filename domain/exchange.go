package domain

import (
	"slices"
	"strconv"
)

// GrantTokenExchange is the token exchange grant (RFC 8693 §2.1): a
// client trades a token it was given (the subject token) for a narrower
// one, for another audience, that says who acts for the subject.
const GrantTokenExchange GrantType = "urn:ietf:params:oauth:grant-type:token-exchange"

// Token type identifiers (RFC 8693 §3) Sigil takes and issues.
const (
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
)

// MaxActorDepth bounds a delegation chain: a token carries at most this
// many nested act claims. Real chains are a few services long; a longer
// one is more likely a loop than a call graph, and each link makes every
// token of the chain larger.
const MaxActorDepth = 8

// Actor is an act claim (RFC 8693 §4.1): who acts for the token's subject.
// Prior is the actor before it in a delegation chain, itself acting for
// the subject, so the outermost actor is the current one. It is also the
// shape of may_act (§4.4), which names who may act, with no Prior.
type Actor struct {
	Subject string
	// Issuer is empty for a subject of Sigil's own (a client id).
	Issuer string
	Prior  *Actor
}

// Depth is the number of actors in the chain, 0 for nil.
func (a *Actor) Depth() int {
	n := 0
	for ; a != nil; a = a.Prior {
		n++
	}
	return n
}

// Is reports whether a names the same party as b, ignoring chains.
func (a *Actor) Is(b *Actor) bool {
	return a != nil && b != nil && a.Subject == b.Subject && a.Issuer == b.Issuer
}

// Allows reports whether a, a token's may_act claim, lets actor act for
// its subject (RFC 8693 §4.4): the subject must match, and the issuer
// when may_act names one. A nil may_act says nothing and allows.
func (a *Actor) Allows(actor *Actor) bool {
	if a == nil {
		return true
	}
	return actor != nil && a.Subject == actor.Subject && (a.Issuer == "" || a.Issuer == actor.Issuer)
}

// ExchangePolicy is what a client may do with the token exchange grant.
type ExchangePolicy struct {
	// Audiences are the audiences (resource indicators or logical names,
	// RFC 8693 §2.1 resource and audience) the client may exchange into;
	// a request naming none gets all of them.
	Audiences []string
	// SubjectAudiences are the aud values, one of which a subject token of
	// Sigil's issued to another client must carry: the client exchanges
	// only tokens made for it. Empty means the client id.
	SubjectAudiences []string
	// Scopes bounds the scopes an exchanged token keeps, beyond the
	// subject token's own; empty means the client's allowed scopes.
	Scopes Scopes
	// Delegate lets the client act for others: exchange a token whose
	// subject is not the actor, yielding a token whose act says so.
	// Without it the client may only narrow tokens of its own.
	Delegate bool
}

// Enabled reports whether the policy lets the client exchange anything.
func (p ExchangePolicy) Enabled() bool { return len(p.Audiences) > 0 }

// ExchangeTarget decides the aud of an exchanged token for a request
// naming targets (resource and audience together): each must be one the
// policy allows, or the request fails with invalid_target (RFC 8693
// §2.2.2); none gives all the policy's audiences.
func (c Client) ExchangeTarget(targets []string) ([]string, error) {
	if len(targets) == 0 {
		return slices.Clone(c.Exchange.Audiences), nil
	}
	for _, t := range targets {
		if !slices.Contains(c.Exchange.Audiences, t) {
			return nil, ErrInvalidTarget.With("audience " + strconv.Quote(t) + " is not allowed for this client")
		}
	}
	out := slices.Clone(targets)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ExchangeScopes decides the scopes of an exchanged token: those of the
// subject token the client may keep; a request naming scopes must stay
// within them (invalid_scope otherwise). Never more than the subject had.
func (c Client) ExchangeScopes(subject, requested Scopes) (Scopes, error) {
	ceiling := c.Exchange.Scopes
	if len(ceiling) == 0 {
		ceiling = c.AllowedScopes
	}
	var keep Scopes
	for _, s := range subject {
		if ceiling.Contains(s) {
			keep = append(keep, s)
		}
	}
	if len(requested) == 0 {
		if len(keep) == 0 {
			return nil, ErrInvalidScope.With("no scope of the subject token may be kept by this client")
		}
		return keep, nil
	}
	for _, s := range requested {
		if !keep.Contains(s) {
			return nil, ErrInvalidScope.With("scope " + s + " is not in the subject token or not allowed for this client")
		}
	}
	return requested, nil
}

// AcceptsSubjectAudience reports whether a subject token with aud was made
// for this client, by its exchange policy's subject audiences.
func (c Client) AcceptsSubjectAudience(aud []string) bool {
	want := c.Exchange.SubjectAudiences
	if len(want) == 0 {
		return slices.Contains(aud, c.ID)
	}
	return slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(want, a) })
}

func (c Client) validateExchange() error {
	bad := func(why string) error { return ErrInvalidClientMetadata.With(why) }
	p := c.Exchange
	switch {
	case c.AllowsGrant(GrantTokenExchange) && !p.Enabled():
		return bad("the token exchange grant needs token_exchange.audiences")
	case p.Enabled() && !c.AllowsGrant(GrantTokenExchange):
		return bad("token_exchange is set but grant_types lacks " + string(GrantTokenExchange))
	case slices.Contains(p.Audiences, ""), slices.Contains(p.SubjectAudiences, ""):
		return bad("token_exchange audiences must not be empty strings")
	}
	for _, s := range p.Scopes {
		if !validScopeToken(s) || s == "" {
			return bad("token_exchange scope " + strconv.Quote(s) + " is not a valid scope token (RFC 6749 §3.3)")
		}
	}
	return nil
}
