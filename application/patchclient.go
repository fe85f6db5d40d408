package application

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/sigilauth/sigil/domain"
)

// ClientPatch changes some fields of a client and leaves the rest, as a
// JSON merge patch (RFC 7396) of its clients-file form would: a nil field
// is left as it is. Secrets are not patched; AddClientSecret and
// ExpireClientSecret change them.
type ClientPatch struct {
	TokenFormat   *domain.TokenFormat
	TokenLifetime *time.Duration
	AuthMethods   *[]domain.AuthMethod
	Scopes        *domain.Scopes
	DefaultScopes *domain.Scopes
	// ResetDefaultScopes makes the default scopes the allowed ones, as a
	// clients file that omits default_scopes does.
	ResetDefaultScopes bool
	Resources          *[]string
	Audience           *[]string
	Introspect         *bool
	DPoPBound          *bool
	JWKS               *string
	JWKSURI            *string
	// TLSSubject replaces the tls_client_auth subject (the zero one
	// clears it), CertBound tls_client_certificate_bound_access_tokens,
	// Profile the security profile.
	TLSSubject *domain.TLSSubject
	CertBound  *bool
	Profile    *domain.Profile
	// Exchange replaces the token exchange policy, and with it whether the
	// client has the grant: the zero policy removes both.
	Exchange *domain.ExchangePolicy
}

// PatchClientInput names the client and the change.
type PatchClientInput struct {
	ID    string
	Patch ClientPatch
}

// PatchClient changes some fields of a registered client, holding the
// result to the same rules as a registration, keeps its secrets, records
// what changed and tells every node to drop its cached record.
//
// When the allowed scopes change and the default scopes were the allowed
// ones (the clients file's default), the default scopes follow, unless the
// patch sets them itself.
type PatchClient struct {
	clients  ClientRegistry
	register *RegisterClient
	events   EventPublisher
	audit    Auditor
}

// NewPatchClient builds the use case over the registry itself (not a
// cache); register holds the token lifetime limit registrations obey.
func NewPatchClient(clients ClientRegistry, register *RegisterClient, events EventPublisher) *PatchClient {
	return &PatchClient{clients: clients, register: register, events: events}
}

// AuditTo records every change on a (AuditClientChanged).
func (h *PatchClient) AuditTo(a Auditor) { h.audit = a }

// Handle applies the patch and returns the client as stored, without
// secret material. An unknown client gives domain.ErrNotFound.
func (h *PatchClient) Handle(ctx context.Context, in PatchClientInput) (domain.Client, error) {
	old, err := h.clients.FindClient(ctx, in.ID)
	if err != nil {
		return domain.Client{}, err
	}
	c, changed := applyPatch(old, in.Patch)
	if err := h.register.checkLifetime(c); err != nil {
		return domain.Client{}, err
	}
	if err := c.Validate(); err != nil {
		return domain.Client{}, err
	}
	if c.Secrets, err = patchSealed(c); err != nil {
		return domain.Client{}, err
	}
	if len(changed) == 0 {
		return WithoutSecretMaterial(old), nil
	}
	if err := h.clients.SaveClient(ctx, c); err != nil {
		return domain.Client{}, fmt.Errorf("save client: %w", err)
	}
	audit(ctx, h.audit, AuditEvent{Kind: AuditClientChanged, ClientID: c.ID, Changed: changed})
	announceClient(ctx, h.events, c.ID)
	return WithoutSecretMaterial(c), nil
}

// applyPatch returns old changed by p and the names of the fields whose
// value changed.
func applyPatch(old domain.Client, p ClientPatch) (domain.Client, []string) {
	c := old
	var changed []string
	set := func(name string, differs bool) {
		if differs {
			changed = append(changed, name)
		}
	}
	if p.TokenFormat != nil {
		c.TokenFormat = *p.TokenFormat
		set("token_format", c.TokenFormat != old.TokenFormat)
	}
	if p.TokenLifetime != nil {
		c.TokenLifetime = *p.TokenLifetime
		set("token_lifetime", c.TokenLifetime != old.TokenLifetime)
	}
	if p.AuthMethods != nil {
		c.AuthMethods = slices.Clone(*p.AuthMethods)
		set("auth_methods", !slices.Equal(c.AuthMethods, old.AuthMethods))
	}
	if p.Scopes != nil {
		c.AllowedScopes = domain.NewScopes(*p.Scopes...)
		set("scopes", !slices.Equal(c.AllowedScopes, old.AllowedScopes))
	}
	switch {
	case p.DefaultScopes != nil:
		c.DefaultScopes = domain.NewScopes(*p.DefaultScopes...)
	case p.ResetDefaultScopes, p.Scopes != nil && slices.Equal(old.DefaultScopes, old.AllowedScopes):
		c.DefaultScopes = c.AllowedScopes
	}
	set("default_scopes", !slices.Equal(c.DefaultScopes, old.DefaultScopes))
	if p.Resources != nil {
		c.Resources = slices.Clone(*p.Resources)
		set("resources", !slices.Equal(c.Resources, old.Resources))
	}
	if p.Audience != nil {
		c.Audience = slices.Clone(*p.Audience)
		set("audience", !slices.Equal(c.Audience, old.Audience))
	}
	if p.Introspect != nil {
		c.CanIntrospect = *p.Introspect
		set("introspect", c.CanIntrospect != old.CanIntrospect)
	}
	if p.DPoPBound != nil {
		c.DPoPBound = *p.DPoPBound
		set("dpop_bound_access_tokens", c.DPoPBound != old.DPoPBound)
	}
	if p.JWKS != nil {
		c.JWKS = *p.JWKS
		set("jwks", c.JWKS != old.JWKS)
	}
	if p.JWKSURI != nil {
		c.JWKSURI = *p.JWKSURI
		set("jwks_uri", c.JWKSURI != old.JWKSURI)
	}
	if p.TLSSubject != nil {
		c.TLSSubject = *p.TLSSubject
		set("tls_client_auth_subject", c.TLSSubject != old.TLSSubject)
	}
	if p.CertBound != nil {
		c.CertBound = *p.CertBound
		set("tls_client_certificate_bound_access_tokens", c.CertBound != old.CertBound)
	}
	if p.Profile != nil {
		c.Profile = *p.Profile
		set("profile", c.Profile != old.Profile)
	}
	if p.Exchange != nil {
		c.Exchange = *p.Exchange
		c.GrantTypes = slices.DeleteFunc(slices.Clone(c.GrantTypes), func(g domain.GrantType) bool { return g == domain.GrantTokenExchange })
		if c.Exchange.Enabled() {
			c.GrantTypes = append(c.GrantTypes, domain.GrantTokenExchange)
		}
		set("token_exchange", !reflect.DeepEqual(c.Exchange, old.Exchange))
	}
	return c, sortedFields(changed)
}

// sortedFields sorts field names, so that audit records list them alike.
func sortedFields(f []string) []string {
	slices.Sort(f)
	return f
}

// patchSealed keeps sealed copies of the secrets only while the client may
// use client_secret_jwt, which needs them; a client newly allowed it has
// none, since only the hashes of its secrets are kept, and must be given
// its secrets again.
func patchSealed(c domain.Client) ([]domain.ClientSecret, error) {
	jwt := c.AllowsAuthMethod(domain.AuthClientSecretJWT)
	out := slices.Clone(c.Secrets)
	for i, s := range out {
		switch {
		case jwt && len(s.Sealed) == 0:
			return nil, domain.ErrInvalidClientMetadata.With("client_secret_jwt needs the secrets themselves, and secret " + s.ID +
				" is kept only as a hash: replace the client with its secrets, or add a new secret and expire this one")
		case !jwt:
			out[i].Sealed = nil
		}
	}
	return out, nil
}
