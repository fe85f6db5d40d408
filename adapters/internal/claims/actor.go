package claims

import (
	"encoding/json"
	"errors"

	"github.com/sigilauth/sigil/domain"
)

// Actor is the act claim (RFC 8693 §4.1) and the may_act claim (§4.4): a
// JSON object naming a party by sub (and iss, when it is not Sigil's own),
// with the prior actor of a delegation chain nested as act. The same shape
// is a JWT claim and an introspection member (§4.1, "act ... in
// introspection responses").
type Actor struct {
	Subject string `json:"sub"`
	Issuer  string `json:"iss,omitempty"`
	Act     *Actor `json:"act,omitempty"`
}

// NewActor is the claim for a, nil for nil so that omitempty leaves it out.
func NewActor(a *domain.Actor) *Actor {
	if a == nil {
		return nil
	}
	return &Actor{Subject: a.Subject, Issuer: a.Issuer, Act: NewActor(a.Prior)}
}

// errActor refuses an act or may_act claim Sigil will not act on.
var errActor = errors.New("act claim without sub, or nested deeper than domain.MaxActorDepth")

// ToDomain is the chain the claim holds; nil for nil. A member without sub
// or a chain longer than domain.MaxActorDepth is an error: such a token is
// not one to exchange or to trust for who acted.
func (a *Actor) ToDomain() (*domain.Actor, error) {
	if a == nil {
		return nil, nil
	}
	var head, tail *domain.Actor
	depth := 0
	for c := a; c != nil; c = c.Act {
		if depth++; depth > domain.MaxActorDepth || c.Subject == "" {
			return nil, errActor
		}
		n := &domain.Actor{Subject: c.Subject, Issuer: c.Issuer}
		if head == nil {
			head = n
		} else {
			tail.Prior = n
		}
		tail = n
	}
	return head, nil
}

// AppendActor appends name and the claim for a, as json.Marshal writes
// NewActor(a) with omitempty; nothing for nil. Only exchanged tokens carry
// one, so encoding/json's cost is paid off the hot path.
func AppendActor(dst []byte, name string, a *domain.Actor) []byte {
	if a == nil {
		return dst
	}
	b, err := json.Marshal(NewActor(a))
	if err != nil {
		// Strings and pointers only: Marshal cannot fail on them.
		panic("claims: marshal act: " + err.Error())
	}
	dst = append(dst, name...)
	return append(dst, b...)
}
