package domain_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sigilauth/sigil/domain"
)

func exchanger() domain.Client {
	return domain.Client{
		ID: "b", TokenFormat: domain.FormatJWT, AuthMethods: []domain.AuthMethod{domain.AuthPrivateKeyJWT}, JWKSURI: "https://b.example/jwks",
		GrantTypes:    []domain.GrantType{domain.GrantClientCredentials, domain.GrantTokenExchange},
		AllowedScopes: domain.NewScopes("read", "write"),
		Exchange:      domain.ExchangePolicy{Audiences: []string{"https://c.example", "urn:d"}},
	}
}

func TestExchangeScopesNeverExceedTheSubjectNorThePolicy(t *testing.T) {
	c := exchanger()
	for _, tc := range []struct {
		subject, requested, policy string
		want                       string
		err                        *domain.Error
	}{
		{subject: "read write admin", want: "read write"},
		{subject: "read write", requested: "read", want: "read"},
		{subject: "read", requested: "write", err: domain.ErrInvalidScope},
		{subject: "admin", err: domain.ErrInvalidScope},
		{subject: "read write", policy: "write", want: "write"},
		{subject: "read write", policy: "write", requested: "read", err: domain.ErrInvalidScope},
	} {
		c.Exchange.Scopes = domain.NewScopes(strings.Fields(tc.policy)...)
		got, err := c.ExchangeScopes(domain.NewScopes(strings.Fields(tc.subject)...), domain.NewScopes(strings.Fields(tc.requested)...))
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("subject %q requested %q policy %q: %v, want %s", tc.subject, tc.requested, tc.policy, err, tc.err.Code)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("subject %q requested %q policy %q: %q, %v; want %q", tc.subject, tc.requested, tc.policy, got.String(), err, tc.want)
		}
	}
}

func TestExchangeTargetsComeFromThePolicy(t *testing.T) {
	c := exchanger()
	if got, err := c.ExchangeTarget(nil); err != nil || !slices.Equal(got, []string{"https://c.example", "urn:d"}) {
		t.Errorf("no target: %v, %v; want every audience of the policy", got, err)
	}
	if got, err := c.ExchangeTarget([]string{"urn:d", "urn:d"}); err != nil || !slices.Equal(got, []string{"urn:d"}) {
		t.Errorf("urn:d twice: %v, %v", got, err)
	}
	if _, err := c.ExchangeTarget([]string{"https://elsewhere.example"}); !errors.Is(err, domain.ErrInvalidTarget) {
		t.Errorf("a target outside the policy: %v, want invalid_target", err)
	}
}

func TestMayActAndSubjectAudiences(t *testing.T) {
	b := &domain.Actor{Subject: "b"}
	spiffeB := &domain.Actor{Subject: "b", Issuer: "https://spire.example"}
	var none *domain.Actor
	switch {
	case !none.Allows(b):
		t.Error("no may_act refused an actor")
	case !(&domain.Actor{Subject: "b"}).Allows(spiffeB):
		t.Error("may_act without iss refused the same sub from an issuer")
	case (&domain.Actor{Subject: "b", Issuer: "https://other.example"}).Allows(spiffeB):
		t.Error("may_act naming another issuer allowed the actor")
	case (&domain.Actor{Subject: "c"}).Allows(b):
		t.Error("may_act naming c allowed b")
	}
	c := exchanger()
	if !c.AcceptsSubjectAudience([]string{"x", "b"}) || c.AcceptsSubjectAudience([]string{"https://b.example"}) {
		t.Error("without subject_audiences the client id must be the one accepted")
	}
	c.Exchange.SubjectAudiences = []string{"https://b.example"}
	if c.AcceptsSubjectAudience([]string{"b"}) || !c.AcceptsSubjectAudience([]string{"https://b.example"}) {
		t.Error("with subject_audiences only those are accepted")
	}
}

func TestExchangePolicyValidation(t *testing.T) {
	if err := exchanger().Validate(); err != nil {
		t.Fatalf("a valid exchanging client: %v", err)
	}
	for name, edit := range map[string]func(*domain.Client){
		"the grant without audiences": func(c *domain.Client) { c.Exchange.Audiences = nil },
		"a policy without the grant":  func(c *domain.Client) { c.GrantTypes = c.GrantTypes[:1] },
		"an empty audience":           func(c *domain.Client) { c.Exchange.Audiences = []string{""} },
		"a bad scope token":           func(c *domain.Client) { c.Exchange.Scopes = domain.Scopes{"a\"b"} },
	} {
		c := exchanger()
		edit(&c)
		if err := c.Validate(); !errors.Is(err, domain.ErrInvalidClientMetadata) {
			t.Errorf("%s: %v, want invalid_client_metadata", name, err)
		}
	}
}
